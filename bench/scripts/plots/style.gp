# style.gp: look shared by the charts of ../bench-plots.sh (read first,
# before the chart's generated variables and its own script): PNG size and
# font, one colour per line type (line type k = run or system k).
set encoding utf8
set terminal pngcairo size 900,500 font "DejaVu Sans,10" noenhanced
set linetype 1 lc rgb "#1f77b4" lw 2 pt 7 ps 0.8
set linetype 2 lc rgb "#d62728" lw 2 pt 5 ps 0.8
set linetype 3 lc rgb "#2ca02c" lw 2 pt 9 ps 0.8
set linetype 4 lc rgb "#ff7f0e" lw 2 pt 11 ps 0.8
set linetype 5 lc rgb "#9467bd" lw 2 pt 13 ps 0.8
set linetype 6 lc rgb "#8c564b" lw 2 pt 7 ps 0.8
set linetype cycle 6
set grid ytics xtics lc rgb "#dddddd"
set key below
set border 3
set tics nomirror
