using ScottPlot;

namespace Gateway.Aspire.Bench;

/// <summary>The PNG: latency by percentile (direct vs gateway) and throughput, rendered with ScottPlot.</summary>
internal static class Chart
{
    private static readonly double[] s_percentiles = [50, 75, 90, 95, 99, 99.5, 99.9];

    public static void Write(BenchRun run, string file)
    {
        var multiplot = new Multiplot();
        multiplot.AddPlots(2);
        multiplot.Layout = new ScottPlot.MultiplotLayouts.Columns();

        var latency = multiplot.GetPlot(0);
        var positions = s_percentiles.Select(Nines).ToArray();
        foreach (var (key, label) in new[] { ("c1-0ms", "c=1"), ("c8-0ms", "c=8") })
        {
            foreach (var path in new[] { BenchRunner.Direct, BenchRunner.Gateway })
            {
                var histogram = run.Results[key][path].Load.Latency;
                if (histogram.Count == 0)
                {
                    continue;
                }

                var scatter = latency.Add.Scatter(positions, s_percentiles.Select(histogram.PercentileMs).ToArray());
                scatter.LegendText = $"{path} {label}";
                scatter.LinePattern = path == BenchRunner.Direct ? LinePattern.Dashed : LinePattern.Solid;
                scatter.LineWidth = 2;
            }
        }

        latency.Axes.Bottom.TickGenerator = new ScottPlot.TickGenerators.NumericManual(positions, s_percentiles.Select(p => $"p{p}").ToArray());
        latency.Axes.Left.Label.Text = "latency (ms)";
        latency.Axes.Title.Label.Text = "Chat completion latency, upstream 0 ms";
        latency.ShowLegend(Alignment.UpperLeft);

        var throughput = multiplot.GetPlot(1);
        var bars = new List<Bar>();
        var labels = new List<string>();
        var x = 0.0;
        foreach (var (key, label) in new[] { ("c1-0ms", "c=1"), ("c8-0ms", "c=8"), ("sat-0ms", $"c={BenchRunner.SaturationConcurrency}") })
        {
            foreach (var path in new[] { BenchRunner.Direct, BenchRunner.Gateway })
            {
                var load = run.Results[key][path].Load;
                bars.Add(new Bar
                {
                    Position = x,
                    Value = load.Seconds > 0 ? load.Requests / load.Seconds : 0,
                    FillColor = path == BenchRunner.Direct ? Colors.SteelBlue : Colors.OrangeRed,
                    Label = $"{(load.Seconds > 0 ? load.Requests / load.Seconds : 0):F0}",
                });
                labels.Add($"{path}\n{label}");
                x += 1;
            }

            x += 0.5;
        }

        var barPlot = throughput.Add.Bars(bars);
        barPlot.ValueLabelStyle.FontSize = 11;
        throughput.Axes.Bottom.TickGenerator = new ScottPlot.TickGenerators.NumericManual(bars.Select(b => b.Position).ToArray(), [.. labels]);
        throughput.Axes.Margins(bottom: 0);
        throughput.Axes.Left.Label.Text = "requests/s";
        throughput.Axes.Title.Label.Text = "Throughput, upstream 0 ms";

        // Say it on the picture too: every number comes from one shared machine.
        var machine = $"{Environment.ProcessorCount} cores shared by load generator, mock, Redis, PostgreSQL, 4 services";
        latency.Axes.Bottom.Label.Text = "percentile; " + machine;
        throughput.Axes.Bottom.Label.Text = "path and concurrency; " + machine;
        latency.Axes.Bottom.Label.FontSize = 12;
        throughput.Axes.Bottom.Label.FontSize = 12;

        multiplot.SavePng(file, 1500, 560);
    }

    /// <summary>"Nines" scale: p90 → 1, p99 → 2, p99.9 → 3, so the tail gets room.</summary>
    private static double Nines(double percentile) => -Math.Log10(1 - percentile / 100.0);
}
