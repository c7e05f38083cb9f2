using System.Reflection;

namespace Gateway.Aspire.Hosting.Testing;

/// <summary>
/// Starts a whole application through its AppHost's own <c>Program</c>, as Aspire.Hosting.Testing
/// does: the entry point declares the resources, and instead of blocking in <c>Run()</c> the built
/// application comes back to the test, which starts it and disposes it (stopping every child).
/// </summary>
public static class DistributedApplicationTestingBuilder
{
    /// <summary>
    /// Runs the entry point of <paramref name="appHostAssembly"/> with <paramref name="args"/> and
    /// <paramref name="configuration"/> overrides, then starts the application it built.
    /// </summary>
    public static async Task<DistributedApplication> StartAsync(
        Assembly appHostAssembly,
        string[] args,
        IReadOnlyDictionary<string, string?>? configuration = null,
        TextWriter? output = null,
        CancellationToken cancellationToken = default)
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
            throw ex.InnerException;
        }
        finally
        {
            DistributedApplicationTestingHook.Current = previous;
        }

        var application = hook.Application
            ?? throw new InvalidOperationException("The AppHost's entry point returned without calling Build().Run().");
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
}
