# throughput.gp: chart (a) of ../bench-plots.sh, operations/s of each
# second of each run (solid, left axis) and that second's p99 latency
# (dashed, right axis). Set before it: data (blocks "t ops_per_s p99_us",
# one per run, two blank lines apart), n (runs), L[1..n] (run labels),
# logy (1 when runs differ by more than 20x), title, out.
set output out
set title title
set xlabel "seconds into the measured run"
set ylabel "operations/s (solid)"
set y2label "p99 latency of that second, ms (dashed)"
set format y "%.0s%c"
set y2tics
set xrange [0:*]
set yrange [0:*]
set y2range [0:*]
if (logy) { set logscale y; set yrange [*:*] }
plot for [i=1:n] data index (i-1) using 1:2 with linespoints lt i title L[i], \
     for [i=1:n] data index (i-1) using 1:($3/1000.0) axes x1y2 with linespoints lt i dt 2 pt 6 \
       title L[i] . " p99"
