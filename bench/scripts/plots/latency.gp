# latency.gp: chart (b) of ../bench-plots.sh, latency against percentile
# on a "nines" axis (x = -log10(1 - p/100): 90 % at 1, 99 % at 2, 99.9 % at
# 3, 99.99 % at 4; the maximum is drawn at 5), log µs on y. All operations
# solid, holds only dashed in the same colour. Set before it: lat (blocks
# "x us", one per run), n, L[1..n]; hold (blocks, one per run that has a
# hold curve), nh, HT[1..nh] (the run index each hold block belongs to);
# title, out.
set output out
set title title
set xlabel "percentile"
set ylabel "latency (log scale)"
set xrange [0.2:5.2]
set xtics ("50" log10(2), "75" log10(4), "90" 1, "95" log10(20), "99" 2, \
           "99.5" log10(200), "99.9" 3, "99.99" 4, "max" 5)
set logscale y
set ytics ("1 µs" 1, "2 µs" 2, "5 µs" 5, "10 µs" 10, "20 µs" 20, "50 µs" 50, \
           "100 µs" 100, "200 µs" 200, "500 µs" 500, "1 ms" 1e3, "2 ms" 2e3, "5 ms" 5e3, \
           "10 ms" 1e4, "20 ms" 2e4, "50 ms" 5e4, "100 ms" 1e5, "200 ms" 2e5, "500 ms" 5e5, \
           "1 s" 1e6, "2 s" 2e6, "5 s" 5e6, "10 s" 1e7)
if (nh > 0) {
  plot for [i=1:n] lat index (i-1) using 1:2 with linespoints lt i title L[i] . ", all operations", \
       for [j=1:nh] hold index (j-1) using 1:2 with linespoints lt HT[j] dt 2 \
         title L[HT[j]] . ", holds"
} else {
  plot for [i=1:n] lat index (i-1) using 1:2 with linespoints lt i title L[i] . ", all operations"
}
