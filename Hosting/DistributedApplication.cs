using System.Runtime.InteropServices;
using Gateway.Aspire.Hosting.ApplicationModel;
using Gateway.Aspire.Hosting.Publishing;
using Gateway.Aspire.Hosting.Servers;
using Gateway.Aspire.Hosting.Testing;
using Microsoft.Extensions.Configuration;

namespace Gateway.Aspire.Hosting;

/// <summary>
/// A built application model: <see cref="Run"/> starts every resource in dependency order and stops
/// them all on Ctrl-C or SIGTERM; with <c>--publisher manifest --output-path FILE</c> it writes an
/// Aspire-style manifest instead.
/// </summary>
public sealed class DistributedApplication : IAsyncDisposable
{
    private readonly IReadOnlyList<Resource> _resources;
    private readonly IConfiguration _configuration;
    private readonly DistributedApplicationOptions _options;
    private Orchestrator? _orchestrator;

    internal DistributedApplication(IReadOnlyList<Resource> resources, IConfiguration configuration, DistributedApplicationOptions options)
    {
        _resources = resources;
        _configuration = configuration;
        _options = options;
    }

    /// <summary>The declared resources.</summary>
    public IReadOnlyList<Resource> Resources => _resources;

    /// <summary>Where local data lives.</summary>
    public DistributedApplicationOptions Options => _options;

    /// <summary>Creates a builder with configuration from the environment and <paramref name="args"/>.</summary>
    public static IDistributedApplicationBuilder CreateBuilder(string[] args)
    {
        var hook = DistributedApplicationTestingHook.Current;
        if (hook is null)
        {
            // A declaration error (missing config file, bad port) is the user's to fix: say it in one
            // line and exit 1 rather than abort (134) with a stack trace.
            AppDomain.CurrentDomain.UnhandledException += (_, e) =>
            {
                if (e.ExceptionObject is Exception error)
                {
                    Console.Error.WriteLine(OneLine(error));
                    Environment.Exit(1);
                }
            };
        }

        return CreateBuilder(args, hook?.ConfigurationOverrides, hook?.Output ?? Console.Out, forTesting: hook is not null);
    }

    /// <summary>
    /// The builder behind <see cref="CreateBuilder(string[])"/>: configuration from the environment,
    /// then <paramref name="args"/>, then <paramref name="overrides"/> (tests).
    /// </summary>
    internal static IDistributedApplicationBuilder CreateBuilder(
        string[] args, IReadOnlyDictionary<string, string?>? overrides, TextWriter output, bool forTesting, Func<int>? nextFreePort = null)
    {
        var configuration = new ConfigurationBuilder()
            .AddEnvironmentVariables()
            .AddCommandLine(args)
            .AddInMemoryCollection(overrides ?? new Dictionary<string, string?>())
            .Build();
        var root = configuration["repository-root"] ?? FindRepositoryRoot();
        var options = new DistributedApplicationOptions
        {
            RepositoryRoot = root,
            DataRoot = Path.GetFullPath(configuration["data-root"] ?? Path.Combine(root, ".apphost")),
            Output = output,
            // Test clusters are thrown away: durability would only cost time.
            NonDurableData = forTesting,
            NextFreePort = nextFreePort ?? FreePort.Next,
        };
        return new DistributedApplicationBuilder(configuration, options);
    }

    /// <summary>
    /// Runs until Ctrl-C or SIGTERM, then stops everything; or publishes the manifest. Under the
    /// testing builder it hands the application to the test instead of blocking.
    /// </summary>
    public void Run()
    {
        if (DistributedApplicationTestingHook.Current is { } hook)
        {
            hook.Built(this);
            return;
        }

        if (string.Equals(_configuration["publisher"], "manifest", StringComparison.OrdinalIgnoreCase))
        {
            var path = Path.GetFullPath(_configuration["output-path"] ?? "aspire-manifest.json");
            ManifestPublisher.Write(_resources, path);
            _options.Output.WriteLine($"Wrote the manifest to {path}");
            return;
        }

        using var stopping = new CancellationTokenSource();
        void OnSignal(PosixSignalContext context)
        {
            context.Cancel = true; // we stop the children ourselves, then return from Run
            stopping.Cancel();
        }

        using var sigint = PosixSignalRegistration.Create(PosixSignal.SIGINT, OnSignal);
        using var sigterm = PosixSignalRegistration.Create(PosixSignal.SIGTERM, OnSignal);
        try
        {
            StartAsync(stopping.Token).GetAwaiter().GetResult();
            _options.Output.WriteLine("Press Ctrl-C to stop.");
            _orchestrator!.WaitForStopAsync(stopping.Token).GetAwaiter().GetResult();
        }
        catch (OperationCanceledException) when (stopping.IsCancellationRequested)
        {
        }
        catch (Exception ex)
        {
            // The orchestrator names the resource that failed (InvalidOperationException, TimeoutException);
            // whatever else escapes still ends in one line and exit code 1, after what did start is stopped.
            _options.Output.WriteLine(OneLine(ex));
            Environment.ExitCode = 1;
        }
        finally
        {
            _options.Output.WriteLine("Stopping...");
            StopAsync().GetAwaiter().GetResult();
            _options.Output.WriteLine("Stopped.");
        }
    }

    /// <summary>Starts every resource, each after what it waits for is healthy.</summary>
    public async Task StartAsync(CancellationToken cancellationToken = default)
    {
        _orchestrator ??= new Orchestrator(_resources, _configuration, _options);
        await _orchestrator.StartAsync(cancellationToken);
    }

    /// <summary>Stops everything that was started, dependents first.</summary>
    public Task StopAsync() => _orchestrator?.StopAsync() ?? Task.CompletedTask;

    /// <summary>The URL of a project's endpoint, e.g. <c>("router", "http")</c>.</summary>
    public Uri GetEndpoint(string resourceName, string endpointName = "http")
    {
        var project = Find<ProjectResource>(resourceName);
        var endpoint = project.Endpoints.FirstOrDefault(e => e.Name == endpointName)
            ?? throw new InvalidOperationException(
                $"'{resourceName}' has no '{endpointName}' endpoint (it has: {string.Join(", ", project.Endpoints.Select(e => e.Name))}).");
        return endpoint.AllocatedPort > 0
            ? new Uri(endpoint.Url)
            : throw new InvalidOperationException($"'{resourceName}' is not started, so its '{endpointName}' endpoint has no port yet.");
    }

    /// <summary>The connection string handed to projects for a Redis or database resource.</summary>
    public string GetConnectionString(string resourceName) =>
        (_orchestrator ?? throw new InvalidOperationException("The application is not started."))
            .GetConnectionString(Find<Resource>(resourceName));

    /// <summary>Process ids of every child process started (servers and projects), for shutdown checks.</summary>
    public IReadOnlyList<int> ChildProcessIds => _orchestrator?.ChildProcessIds ?? [];

    /// <summary>Every state change of every resource so far, in order of occurrence.</summary>
    public IReadOnlyList<ResourceEvent> ResourceEvents => _orchestrator?.Events ?? [];

    /// <summary>The process of a running resource, or null (external, not started, no process).</summary>
    public int? GetProcessId(string resourceName) =>
        ResourceEvents.LastOrDefault(e => e.Resource == Find<Resource>(resourceName).Name && e.State == ResourceState.Running)?.ProcessId;

    /// <inheritdoc />
    public async ValueTask DisposeAsync() => await StopAsync();

    private T Find<T>(string name) where T : Resource =>
        _resources.OfType<T>().FirstOrDefault(r => r.Name == name)
        ?? throw new InvalidOperationException($"No resource named '{name}'.");

    /// <summary>
    /// A failure as the one line the user sees. Ours (InvalidOperationException, TimeoutException) are
    /// written for the user and name the resource; anything else also names its type.
    /// </summary>
    private static string OneLine(Exception error) => error is InvalidOperationException or TimeoutException
        ? $"AppHost: {error.Message}"
        : $"AppHost: {error.GetType().Name}: {error.Message}";

    private static string FindRepositoryRoot()
    {
        foreach (var start in new[] { Directory.GetCurrentDirectory(), AppContext.BaseDirectory })
        {
            for (var directory = new DirectoryInfo(start); directory is not null; directory = directory.Parent)
            {
                if (File.Exists(Path.Combine(directory.FullName, "Gateway.Aspire.sln")))
                {
                    return directory.FullName;
                }
            }
        }

        return Directory.GetCurrentDirectory();
    }
}
