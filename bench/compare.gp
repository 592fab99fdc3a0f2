# SPDX-License-Identifier: MIT
# Plots for bench/compare.sh; run in the results directory with
#   gnuplot -e "term='pngcairo'; ext='png'" compare.gp   (or svg/svg)
if (term eq 'svg') { set terminal svg size 1100,600 dynamic noenhanced background rgb 'white' } \
else { set terminal pngcairo size 1100,600 noenhanced }
set grid ytics
set key top left

set output 'cases.'.ext
set title 'ns per op by case: iopt vs the Linux peers (log scale, lower is better)'
set style data histograms
set style histogram clustered gap 1
set style fill solid 0.8 border -1
set logscale y
set ylabel 'ns/op'
set xtics rotate by -60 font ',8'
set bmargin 9
plot for [i=2:*] 'cases.dat' using i:xtic(1) title columnhead(i)

unset style data
set style data linespoints
set bmargin
set xtics norotate font ''
set logscale xy 2
set xlabel '4 KiB pages per call'
set ylabel 'ns per call'
set output 'sweep_map.'.ext
set title 'map: ns per call against pages per call'
plot for [i=2:*] 'sweep_map.dat' using 1:i title columnhead(i)
set output 'sweep_unmap.'.ext
set title 'unmap (+ final sync): ns per call against pages per call'
plot for [i=2:*] 'sweep_unmap.dat' using 1:i title columnhead(i)

set logscale xy 2
set xlabel 'threads'
set ylabel 'ns per op per thread'
set output 'threads.'.ext
set title 'thread scaling: IOVA ring512 op, DMA map+unmap pair'
plot for [i=2:*] 'threads.dat' using 1:i title columnhead(i)
