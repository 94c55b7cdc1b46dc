# Re-plot with: gnuplot training_curve.gp (run in this directory)
set terminal pngcairo size 900,600 enhanced font 'sans,11'
set output "training_curve.png"
set title "FP action: training curve" noenhanced
set xlabel "step" noenhanced
set ylabel "loss" noenhanced
set grid
set key noenhanced
set logscale y
set format y '10^{%L}'
plot "training_curve.dat" index 0 using 1:2 with lines lw 2 title "train", \
     "training_curve.dat" index 1 using 1:2 with lines lw 2 title "validation"
