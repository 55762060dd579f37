# compare.gp: chart (c) of ../bench-plots.sh, operations/s of each
# (scenario, system) run of make compare as bars grouped by scenario, log y
# (a PostgreSQL peer is orders of magnitude below onsale), each bar labelled
# with its value and, for a peer, how many times faster onsale was. Set
# before it: data (rows "x ops_per_s system_index value_label ratio_label"),
# ns, S[1..ns] (system names), the scenario xtics, ymin, ymax (the decade
# above 3x the tallest bar: room for its labels), xmax, title, out.
set output out
set title title
set ylabel "operations/s (log scale)"
set logscale y
set format y "%.0s%c"
set yrange [ymin:ymax]
set xrange [-0.7:xmax + 0.7]
set grid noxtics
set style fill solid 0.85 border -1
set boxwidth 0.85
plot for [k=1:ns] data using ($3 == k ? $1 : NaN):2 with boxes lt k title S[k], \
     data using 1:2:4 with labels offset 0,0.8 font ",9" notitle, \
     data using 1:2:5 with labels offset 0,1.8 font ",8" tc rgb "#555555" notitle
