using System.Collections.Concurrent;
using System.Net;
using System.Net.Sockets;
using System.Runtime.ExceptionServices;
using Gateway.Aspire.Hosting.ApplicationModel;
using Gateway.Aspire.Hosting.Processes;
using Gateway.Aspire.Hosting.Servers;
using Microsoft.Extensions.Configuration;

namespace Gateway.Aspire.Hosting;

/// <summary>
/// Starts the resources of a model, each after what it waits for (and what it references) is
/// healthy — independent resources start in parallel — and stops them in the reverse order.
/// </summary>
internal sealed class Orchestrator(IReadOnlyList<Resource> resources, IConfiguration configuration, DistributedApplicationOptions options)
{
    // Losing the port race twice in a row takes a busy machine; a third loss is reported.
    private const int MaxBindAttempts = 3;

    private static readonly TimeSpan HealthTimeout = TimeSpan.FromSeconds(90);
    private static readonly HttpClient Probe = new() { Timeout = TimeSpan.FromSeconds(2) };

    private readonly Dictionary<Resource, Task> _ready = [];
    // Written by resources starting in parallel.
    private readonly ConcurrentDictionary<Resource, string> _connectionStrings = new();
    private readonly ConcurrentDictionary<Resource, string> _descriptions = new();
    private readonly ConcurrentDictionary<PostgresServerResource, PostgresServer> _postgres = new();
    private readonly List<(string Name, Func<Task> Stop, int Pid)> _running = [];
    private readonly List<ResourceEvent> _events = [];
    private readonly Lock _lock = new();
    private readonly ProjectPidFiles _pidFiles = new(options.DataRoot, options.Output);
    private bool _stopping;

    public IReadOnlyList<int> ChildProcessIds
    {
        get
        {
            lock (_lock)
            {
                return [.. _running.Select(r => r.Pid).Where(p => p > 0)];
            }
        }
    }

    public IReadOnlyList<ResourceEvent> Events
    {
        get
        {
            lock (_lock)
            {
                return [.. _events];
            }
        }
    }

    public async Task StartAsync(CancellationToken cancellationToken)
    {
        await _pidFiles.StopOrphansAsync(resources.OfType<ProjectResource>());
        foreach (var project in resources.OfType<ProjectResource>())
        {
            foreach (var endpoint in project.Endpoints)
            {
                if (endpoint.Port is { } port)
                {
                    EnsurePortIsFree(project, endpoint, port);
                    endpoint.AllocatedPort = port;
                }
            }
        }

        // Fail fast: the first resource that cannot start cancels the others, instead of leaving
        // the user waiting for unrelated services to finish their health checks. What did start is
        // stopped by the caller's StopAsync.
        using var failed = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        Exception? firstFailure = null;
        async Task StartGuarded(Resource resource)
        {
            try
            {
                await GetReady(resource, failed.Token);
            }
            catch (Exception ex) when (!cancellationToken.IsCancellationRequested && ex is not OperationCanceledException)
            {
                lock (_lock)
                {
                    // Our own failures name their resource; anything else (a data directory that cannot be
                    // created, a program that is missing) gets its name here, for the one line the user sees.
                    firstFailure ??= ex is InvalidOperationException or TimeoutException
                        ? ex
                        : new InvalidOperationException($"{resource.Name} could not start: {ex.Message}", ex);
                }

                await failed.CancelAsync();
                throw;
            }
        }

        try
        {
            await Task.WhenAll(resources.Where(r => r is not ParameterResource).Select(StartGuarded).ToList());
        }
        catch when (firstFailure is not null)
        {
            ExceptionDispatchInfo.Throw(firstFailure);
        }

        PrintTable();
    }

    /// <summary>Completes when <paramref name="cancellationToken"/> fires.</summary>
    public Task WaitForStopAsync(CancellationToken cancellationToken) => Task.Delay(Timeout.Infinite, cancellationToken);

    public async Task StopAsync()
    {
        List<(string Name, Func<Task> Stop, int Pid)> running;
        lock (_lock)
        {
            _stopping = true;
            running = [.. _running];
            _running.Clear();
        }

        // Dependents became ready after their dependencies, so stopping in reverse order stops the
        // router before the services it calls, and the services before Redis and PostgreSQL.
        for (var i = running.Count - 1; i >= 0; i--)
        {
            try
            {
                await running[i].Stop();
            }
            catch (Exception ex) when (ex is InvalidOperationException or TimeoutException)
            {
                options.Output.WriteLine($"AppHost: stopping {running[i].Name} failed: {ex.Message}");
            }

            Record(running[i].Name, ResourceState.Stopped, running[i].Pid);
        }
    }

    public string GetConnectionString(Resource resource) =>
        _connectionStrings.TryGetValue(resource, out var value)
            ? value
            : throw new InvalidOperationException($"'{resource.Name}' has no connection string (not started, or not a Redis or database resource).");

    private Task GetReady(Resource resource, CancellationToken cancellationToken)
    {
        lock (_lock)
        {
            if (!_ready.TryGetValue(resource, out var task))
            {
                task = StartResourceAsync(resource, cancellationToken);
                _ready[resource] = task;
            }

            return task;
        }
    }

    private async Task StartResourceAsync(Resource resource, CancellationToken cancellationToken)
    {
        await Task.Yield();
        var dependencies = resource.WaitsFor
            .Concat(resource is ProjectResource withReferences ? withReferences.References : [])
            .Where(d => d is not ParameterResource)
            .Distinct()
            .Select(d => GetReady(d, cancellationToken));
        await Task.WhenAll(dependencies);

        Record(resource.Name, ResourceState.Starting);
        try
        {
            switch (resource)
            {
                case RedisResource redis:
                    await StartRedisAsync(redis, cancellationToken);
                    break;
                case PostgresServerResource server:
                    await StartPostgresAsync(server, cancellationToken);
                    break;
                case PostgresDatabaseResource database:
                    await CreateDatabaseAsync(database, cancellationToken);
                    break;
                case ProjectResource project:
                    await StartProjectAsync(project, cancellationToken);
                    break;
            }
        }
        catch
        {
            Record(resource.Name, ResourceState.FailedToStart);
            throw;
        }

        Record(resource.Name, ResourceState.Running, ProcessIdOf(resource.Name));
    }

    /// <summary>Uses <c>ConnectionStrings__{name}</c> when it is set, instead of starting a local server.</summary>
    private bool TryUseConfiguredConnectionString(Resource resource)
    {
        if (configuration.GetConnectionString(resource.Name) is not { Length: > 0 } existing)
        {
            return false;
        }

        _connectionStrings[resource] = existing;
        _descriptions[resource] = $"external (ConnectionStrings__{resource.Name})";
        options.Output.WriteLine($"AppHost: {resource.Name}: using ConnectionStrings__{resource.Name}");
        return true;
    }

    private async Task StartRedisAsync(RedisResource redis, CancellationToken cancellationToken)
    {
        if (TryUseConfiguredConnectionString(redis))
        {
            return;
        }

        var server = await RedisServer.StartAsync(new RedisServerOptions
        {
            DataDirectory = Path.Combine(options.DataRoot, redis.Name),
            Output = options.Output,
            ToolManifestDirectory = options.RepositoryRoot,
        }, cancellationToken);
        Track(redis.Name, server.StopAsync, server.ProcessId);
        _connectionStrings[redis] = server.ConnectionString;
        _descriptions[redis] = $"{server.ConnectionString} ({server.Kind})";
        options.Output.WriteLine($"AppHost: {redis.Name}: started {server.Kind} on {server.ConnectionString}");
    }

    private async Task StartPostgresAsync(PostgresServerResource resource, CancellationToken cancellationToken)
    {
        if (resource.Databases.Count > 0 && resource.Databases.All(d => configuration.GetConnectionString(d.Name) is { Length: > 0 }))
        {
            _descriptions[resource] = "external (databases configured)";
            return;
        }

        var server = await PostgresServer.StartAsync(new PostgresServerOptions
        {
            DataDirectory = Path.Combine(options.DataRoot, resource.Name),
            Output = options.Output,
            NonDurable = options.NonDurableData,
        }, cancellationToken);
        Track(resource.Name, server.StopAsync, server.ProcessId);
        _postgres[resource] = server;
        _descriptions[resource] = $"127.0.0.1:{server.Port} (PostgreSQL, data in {Path.Combine(options.DataRoot, resource.Name)})";
        options.Output.WriteLine($"AppHost: {resource.Name}: started PostgreSQL on 127.0.0.1:{server.Port}");
    }

    private async Task CreateDatabaseAsync(PostgresDatabaseResource database, CancellationToken cancellationToken)
    {
        if (TryUseConfiguredConnectionString(database))
        {
            return;
        }

        var server = _postgres[database.Server];
        await server.EnsureDatabaseAsync(database.DatabaseName, cancellationToken);
        _connectionStrings[database] = server.GetConnectionString(database.DatabaseName);
        _descriptions[database] = $"database {database.DatabaseName} on {database.Server.Name}";
    }

    private async Task StartProjectAsync(ProjectResource project, CancellationToken cancellationToken)
    {
        var target = project.Project.TargetPath;
        if (!File.Exists(target))
        {
            throw new InvalidOperationException(
                $"{project.Name}: the built project is missing ({target}). Build first: 'dotnet build' in {options.RepositoryRoot} " +
                "(dotnet run --project AppHost builds it for you).");
        }

        for (var attempt = 1; ; attempt++)
        {
            // A free port is only free until someone takes it: another process that listens there (other
            // test processes choose ports with bind(0) too), or a client socket bound without SO_REUSEADDR.
            // So each is chosen just before the project starts, and chosen again when the project lost the race.
            var chosen = project.Endpoints.Where(e => e.Port is null).ToList();
            foreach (var endpoint in chosen)
            {
                endpoint.AllocatedPort = options.NextFreePort();
            }

            var process = StartProcess(project, target);
            try
            {
                var http = project.Endpoints.First(e => e.Name == "http");
                await WaitForHealthyAsync(project, process, new Uri(http.Url + "/health"), cancellationToken);
                break;
            }
            catch (InvalidOperationException) when (
                attempt < MaxBindAttempts && process.HasExited && TakenPort(process, chosen) is { } taken)
            {
                options.Output.WriteLine(
                    $"AppHost: {project.Name}: port {taken} was taken by another process before {project.Name} could listen on it; starting it again on new ports.");
                Untrack(process.Id);
                _pidFiles.Delete(project);
                await process.DisposeAsync();
            }
        }

        _descriptions[project] = string.Join(", ", project.Endpoints.Select(e => e.Name == "http" ? e.Url : $"{e.Name} {e.Url}"));
    }

    private ChildProcess StartProcess(ProjectResource project, string target)
    {
        var process = ChildProcess.Start(new ChildProcessStartInfo
        {
            Name = project.Name,
            FileName = "dotnet",
            Arguments = [target],
            Environment = BuildEnvironment(project),
            WorkingDirectory = Path.GetDirectoryName(target),
            Output = options.Output,
        });
        _pidFiles.Write(project, process.Id);
        Track(project.Name, async () =>
        {
            await process.StopAsync(TimeSpan.FromSeconds(20));
            _pidFiles.Delete(project);
        }, process.Id);
        _ = process.Exited.ContinueWith(
            exited =>
            {
                lock (_lock)
                {
                    // Before it is running, the start itself reports the exit (with the child's output).
                    if (!_stopping && _events.Any(e => e.Resource == project.Name && e.State == ResourceState.Running))
                    {
                        options.Output.WriteLine($"AppHost: {project.Name} exited unexpectedly with code {exited.Result}.");
                    }
                }
            },
            TaskScheduler.Default);
        return process;
    }

    /// <summary>
    /// The port among <paramref name="chosen"/> (ports this orchestrator picked, not fixed ones) that the
    /// exited <paramref name="process"/> failed to bind, as Kestrel reports it
    /// ("Failed to bind to address http://127.0.0.1:PORT: address already in use."); null for any other exit.
    /// </summary>
    private static int? TakenPort(ChildProcess process, IReadOnlyList<EndpointAnnotation> chosen) =>
        process.Tail
            .Where(line => line.Contains("address already in use", StringComparison.OrdinalIgnoreCase))
            .SelectMany(line => chosen.Where(e => line.Contains($":{e.AllocatedPort}:", StringComparison.Ordinal)
                || line.Contains($":{e.AllocatedPort}/", StringComparison.Ordinal)))
            .Select(e => (int?)e.AllocatedPort)
            .FirstOrDefault();

    private Dictionary<string, string?> BuildEnvironment(ProjectResource project)
    {
        var environment = new Dictionary<string, string?>
        {
            ["ASPNETCORE_ENVIRONMENT"] = configuration["ASPNETCORE_ENVIRONMENT"] ?? "Development",
            ["DOTNET_ENVIRONMENT"] = configuration["DOTNET_ENVIRONMENT"] ?? configuration["ASPNETCORE_ENVIRONMENT"] ?? "Development",
            // Child output is relayed line by line; colours would arrive as escape codes.
            ["DOTNET_SYSTEM_CONSOLE_ALLOW_ANSI_COLOR_REDIRECTION"] = null,
            ["Logging__Console__FormatterName"] = "simple",
            ["Logging__Console__FormatterOptions__SingleLine"] = "true",
            // A line per request and per outgoing call would bury what matters in the relayed output.
            ["Logging__LogLevel__Microsoft.AspNetCore"] = configuration["Logging:LogLevel:Microsoft.AspNetCore"] ?? "Warning",
            ["Logging__LogLevel__System.Net.Http.HttpClient"] = configuration["Logging:LogLevel:System.Net.Http.HttpClient"] ?? "Warning",
        };
        if (configuration["OTEL_EXPORTER_OTLP_ENDPOINT"] is { Length: > 0 } otlp)
        {
            environment["OTEL_EXPORTER_OTLP_ENDPOINT"] = otlp;
        }

        if (project.Endpoints.Count == 1)
        {
            environment["ASPNETCORE_URLS"] = project.Endpoints[0].Url;
        }
        else
        {
            // Several endpoints with different protocols: Kestrel's endpoint configuration, not URLs.
            environment["ASPNETCORE_URLS"] = null;
            foreach (var endpoint in project.Endpoints)
            {
                environment[$"Kestrel__Endpoints__{endpoint.Name}__Url"] = endpoint.Url;
                environment[$"Kestrel__Endpoints__{endpoint.Name}__Protocols"] = endpoint.Protocols;
            }
        }

        foreach (var reference in project.References)
        {
            switch (reference)
            {
                case IResourceWithConnectionString:
                    environment[$"ConnectionStrings__{reference.Name}"] = _connectionStrings[reference];
                    break;
                case ProjectResource service:
                    foreach (var endpoint in service.Endpoints)
                    {
                        environment[$"services__{service.Name}__{endpoint.Name}__0"] = endpoint.Url;
                    }

                    break;
            }
        }

        foreach (var (name, value) in project.Environment)
        {
            environment[name] = value.Resolve();
        }

        return environment;
    }

    private static async Task WaitForHealthyAsync(ProjectResource project, ChildProcess process, Uri health, CancellationToken cancellationToken)
    {
        var deadline = DateTime.UtcNow + HealthTimeout;
        while (true)
        {
            cancellationToken.ThrowIfCancellationRequested();
            if (process.HasExited)
            {
                throw new InvalidOperationException(
                    $"{project.Name} exited with code {await process.Exited} before becoming healthy. Its last output:{Environment.NewLine}" +
                    LastOutput(process));
            }

            try
            {
                using var response = await Probe.GetAsync(health, cancellationToken);
                if (response.IsSuccessStatusCode)
                {
                    return;
                }
            }
            catch (HttpRequestException)
            {
                // Not listening yet.
            }
            catch (TaskCanceledException) when (!cancellationToken.IsCancellationRequested)
            {
                // Probe timed out; try again.
            }

            if (DateTime.UtcNow > deadline)
            {
                throw new TimeoutException(
                    $"{project.Name} did not report healthy at {health} within {HealthTimeout.TotalSeconds:0} s. Its last output:{Environment.NewLine}" +
                    LastOutput(process));
            }

            await Task.Delay(100, cancellationToken);
        }
    }

    /// <summary>
    /// A fixed port that is taken (often by a service of an AppHost that was killed) would otherwise
    /// surface as a bind failure after Redis and PostgreSQL have started; say so before starting anything.
    /// </summary>
    private static void EnsurePortIsFree(ProjectResource project, EndpointAnnotation endpoint, int port)
    {
        using var probe = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        // As Kestrel does on Linux: connections of a previous run in TIME_WAIT do not block the port; a listener does.
        probe.SetSocketOption(SocketOptionLevel.Socket, SocketOptionName.ReuseAddress, true);
        try
        {
            probe.Bind(new IPEndPoint(IPAddress.Loopback, port));
        }
        catch (SocketException ex) when (ex.SocketErrorCode is SocketError.AddressAlreadyInUse or SocketError.AccessDenied)
        {
            throw new InvalidOperationException(
                $"{project.Name}: port {port} ({endpoint.Name} endpoint) is already in use. Stop the process that listens " +
                $"there (`ss -ltnp 'sport = :{port}'` shows it) or give {project.Name} another port.");
        }
    }

    private void Record(string name, ResourceState state, int? pid = null)
    {
        lock (_lock)
        {
            _events.Add(new ResourceEvent(name, state, pid));
        }
    }

    private int? ProcessIdOf(string name)
    {
        lock (_lock)
        {
            return _running.Where(r => r.Name == name && r.Pid > 0).Select(r => (int?)r.Pid).LastOrDefault();
        }
    }

    /// <summary>
    /// The child's last lines for an error message, stack frames left out: the exception's own lines
    /// ("Failed to bind to address ...") say what is wrong, and a trace would push them out of view.
    /// </summary>
    private static string LastOutput(ChildProcess process) =>
        string.Join(Environment.NewLine, process.Tail
            .Where(line => !line.TrimStart().StartsWith("at ", StringComparison.Ordinal) && !line.Contains("--- End of", StringComparison.Ordinal))
            .TakeLast(15));

    private void Track(string name, Func<Task> stop, int pid)
    {
        lock (_lock)
        {
            _running.Add((name, stop, pid));
        }
    }

    private void Untrack(int pid)
    {
        lock (_lock)
        {
            _running.RemoveAll(r => r.Pid == pid);
        }
    }

    private void PrintTable()
    {
        var rows = resources.Where(r => r is not ParameterResource)
            .Select(r => (r.Name, Kind: Kind(r), Where: _descriptions.GetValueOrDefault(r, ""))).ToList();
        var nameWidth = Math.Max(8, rows.Max(r => r.Name.Length));
        var kindWidth = Math.Max(8, rows.Max(r => r.Kind.Length));
        var output = options.Output;
        output.WriteLine();
        output.WriteLine($"  {"Resource".PadRight(nameWidth)}  {"Type".PadRight(kindWidth)}  State    Endpoint");
        foreach (var row in rows)
        {
            output.WriteLine($"  {row.Name.PadRight(nameWidth)}  {row.Kind.PadRight(kindWidth)}  Running  {row.Where}");
        }

        output.WriteLine();
    }

    private static string Kind(Resource resource) => resource switch
    {
        RedisResource => "redis",
        PostgresServerResource => "postgres",
        PostgresDatabaseResource => "database",
        ProjectResource => "project",
        _ => resource.GetType().Name,
    };
}
