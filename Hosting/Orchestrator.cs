using System.Collections.Concurrent;
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
    private static readonly TimeSpan HealthTimeout = TimeSpan.FromSeconds(90);
    private static readonly HttpClient Probe = new() { Timeout = TimeSpan.FromSeconds(2) };

    private readonly Dictionary<Resource, Task> _ready = [];
    // Written by resources starting in parallel.
    private readonly ConcurrentDictionary<Resource, string> _connectionStrings = new();
    private readonly ConcurrentDictionary<Resource, string> _descriptions = new();
    private readonly ConcurrentDictionary<PostgresServerResource, PostgresServer> _postgres = new();
    private readonly List<(string Name, Func<Task> Stop, int Pid)> _running = [];
    private readonly Lock _lock = new();
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

    public async Task StartAsync(CancellationToken cancellationToken)
    {
        foreach (var endpoint in resources.OfType<ProjectResource>().SelectMany(p => p.Endpoints))
        {
            endpoint.AllocatedPort = endpoint.Port ?? FreePort.Next();
        }

        // A failure surfaces here; what did start is stopped by the caller's StopAsync.
        await Task.WhenAll(resources.Where(r => r is not ParameterResource).Select(r => GetReady(r, cancellationToken)).ToList());

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

    private async Task StartRedisAsync(RedisResource redis, CancellationToken cancellationToken)
    {
        if (configuration.GetConnectionString(redis.Name) is { Length: > 0 } existing)
        {
            _connectionStrings[redis] = existing;
            _descriptions[redis] = "external (ConnectionStrings__" + redis.Name + ")";
            options.Output.WriteLine($"AppHost: {redis.Name}: using ConnectionStrings__{redis.Name}");
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
        if (configuration.GetConnectionString(database.Name) is { Length: > 0 } existing)
        {
            _connectionStrings[database] = existing;
            _descriptions[database] = "external (ConnectionStrings__" + database.Name + ")";
            options.Output.WriteLine($"AppHost: {database.Name}: using ConnectionStrings__{database.Name}");
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

        var process = ChildProcess.Start(new ChildProcessStartInfo
        {
            Name = project.Name,
            FileName = "dotnet",
            Arguments = [target],
            Environment = BuildEnvironment(project),
            WorkingDirectory = Path.GetDirectoryName(target),
            Output = options.Output,
        });
        Track(project.Name, () => process.StopAsync(TimeSpan.FromSeconds(20)), process.Id);
        _ = process.Exited.ContinueWith(
            exited =>
            {
                lock (_lock)
                {
                    if (!_stopping)
                    {
                        options.Output.WriteLine($"AppHost: {project.Name} exited unexpectedly with code {exited.Result}.");
                    }
                }
            },
            TaskScheduler.Default);

        var http = project.Endpoints.First(e => e.Name == "http");
        await WaitForHealthyAsync(project, process, new Uri(http.Url + "/health"), cancellationToken);
        _descriptions[project] = string.Join(", ", project.Endpoints.Select(e => e.Name == "http" ? e.Url : $"{e.Name} {e.Url}"));
    }

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
                    string.Join(Environment.NewLine, process.Tail.TakeLast(15)));
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
                    string.Join(Environment.NewLine, process.Tail.TakeLast(15)));
            }

            await Task.Delay(100, cancellationToken);
        }
    }

    private void Track(string name, Func<Task> stop, int pid)
    {
        lock (_lock)
        {
            _running.Add((name, stop, pid));
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
