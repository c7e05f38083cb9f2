using Gateway.Aspire.Bench;

// Composition only: parse the command line, run the benchmark, write docs/perf.
var options = BenchOptions.Parse(args);
if (options is null)
{
    Console.WriteLine(BenchOptions.Usage);
    return 2;
}

return options.Admit ? await AdmitBench.RunAsync(options)
    : options.Channels ? await ChannelBench.RunAsync(options)
    : options.Events ? await EventsBench.RunAsync(options.Quick ? TimeSpan.FromSeconds(3) : TimeSpan.FromSeconds(5), options.Rounds)
    : options.SoakDuration is not null ? await Soak.RunAsync(options)
    : await BenchRunner.RunAsync(options);
