using System.Reflection;

namespace Gateway.Aspire.Hosting.Testing;

/// <summary>
/// Starts a whole application through its AppHost's own <c>Program</c>, as Aspire.Hosting.Testing
/// does: the entry point declares the resources, and instead of blocking in <c>Run()</c> the built
/// application comes back to the test, which starts it and disposes it (stopping every child).
/// </summary>
public static class DistributedApplicationTestingBuilder
{
    /// <summary>Runs the AppHost's entry point with <paramref name="args"/> and starts the application it built.</summary>
    public static Task<DistributedApplication> StartAsync(Assembly appHostAssembly, string[] args, CancellationToken cancellationToken) =>
        StartAsync(appHostAssembly, args, configuration: null, output: null, cancellationToken);

    /// <summary>
    /// Runs the entry point of <paramref name="appHostAssembly"/> with <paramref name="args"/> and
    /// <paramref name="configuration"/> overrides, then starts the application it built. If the start
    /// fails, whatever did start is stopped before the exception reaches the test.
    /// </summary>
    public static async Task<DistributedApplication> StartAsync(
        Assembly appHostAssembly,
        string[] args,
        IReadOnlyDictionary<string, string?>? configuration = null,
        TextWriter? output = null,
        CancellationToken cancellationToken = default)
    {
        var application = await BuildAsync(appHostAssembly, args, configuration, output);
        try
        {
            await application.StartAsync(cancellationToken);
        }
        catch
        {
            await application.StopAsync();
            throw;
        }

        return application;
    }

    /// <summary>
    /// Runs the entry point of <paramref name="appHostAssembly"/> and returns the application it
    /// declared, not started: tests inspect the resource model without running anything.
    /// </summary>
    public static async Task<DistributedApplication> BuildAsync(
        Assembly appHostAssembly,
        string[] args,
        IReadOnlyDictionary<string, string?>? configuration = null,
        TextWriter? output = null)
    {
        var entryPoint = appHostAssembly.EntryPoint
            ?? throw new InvalidOperationException($"{appHostAssembly.GetName().Name} has no entry point.");
        var hook = new DistributedApplicationTestingHook
        {
            ConfigurationOverrides = configuration ?? new Dictionary<string, string?>(),
            Output = output ?? TextWriter.Null,
        };

        var previous = DistributedApplicationTestingHook.Current;
        DistributedApplicationTestingHook.Current = hook;
        try
        {
            var result = entryPoint.Invoke(null, entryPoint.GetParameters().Length == 0 ? [] : [args]);
            if (result is Task task)
            {
                await task;
            }
        }
        catch (TargetInvocationException ex) when (ex.InnerException is not null)
        {
            System.Runtime.ExceptionServices.ExceptionDispatchInfo.Throw(ex.InnerException);
        }
        finally
        {
            DistributedApplicationTestingHook.Current = previous;
        }

        return hook.Application
            ?? throw new InvalidOperationException("The AppHost's entry point returned without calling Build().Run().");
    }

    /// <summary>
    /// A builder for a model declared by the test itself (no AppHost entry point), with the same
    /// test behaviour: <paramref name="configuration"/> overrides, output to <paramref name="output"/>,
    /// throw-away durability. Build it, then <c>StartAsync</c> and dispose the application.
    /// <paramref name="nextFreePort"/> replaces where chosen ports come from (default: a free loopback port).
    /// </summary>
    public static IDistributedApplicationBuilder Create(
        string[] args, IReadOnlyDictionary<string, string?>? configuration = null, TextWriter? output = null, Func<int>? nextFreePort = null) =>
        DistributedApplication.CreateBuilder(args, configuration, output ?? TextWriter.Null, forTesting: true, nextFreePort);
}
