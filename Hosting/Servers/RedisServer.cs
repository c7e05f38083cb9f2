using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Net.Sockets;
using System.Text;
using Gateway.Aspire.Hosting.Processes;

namespace Gateway.Aspire.Hosting.Servers;

/// <summary>Options for a local Redis-compatible server.</summary>
public sealed record RedisServerOptions
{
    /// <summary>Directory for the server's files (pid file, working directory). Created if missing.</summary>
    public required string DataDirectory { get; init; }

    /// <summary>Loopback port; 0 (the default) picks a free one.</summary>
    public int Port { get; init; }

    /// <summary>Where the server's output goes, prefixed with its name. Default: <see cref="Console.Out"/>.</summary>
    public TextWriter Output { get; init; } = Console.Out;

    /// <summary>
    /// Directory holding <c>.config/dotnet-tools.json</c> (the repository root), used to restore and
    /// run Garnet when <c>redis-server</c> is not installed. Default: none (no Garnet fallback).
    /// </summary>
    public string? ToolManifestDirectory { get; init; }

    /// <summary>Whether to look for <c>redis-server</c> on PATH before Garnet. Default: true (tests turn it off to exercise Garnet).</summary>
    public bool UseRedisServerFromPath { get; init; } = true;

    /// <summary>
    /// A redis.conf read before the command-line settings (redis-server only; Garnet ignores it), for
    /// directives the command line cannot carry, e.g. <c>rename-command XADD ""</c> to test a server
    /// without streams. Default: none.
    /// </summary>
    public string? ConfigFile { get; init; }

    /// <summary>
    /// Number of logical databases (redis-server only; Garnet keeps its own default). Default: null,
    /// the server's own 16.
    /// </summary>
    public int? Databases { get; init; }

    /// <summary>How long to wait for the server to answer PING. Default: 60 s (Garnet's first restore takes a while).</summary>
    public TimeSpan StartTimeout { get; init; } = TimeSpan.FromSeconds(60);
}

/// <summary>
/// A Redis-compatible server on loopback for local runs and tests: <c>redis-server</c> from PATH,
/// else Garnet (the .NET tool <c>garnet-server</c> from the repository's tool manifest; it lacks
/// streams but runs Lua with <c>--lua</c>), else a clear error saying what to install.
/// </summary>
public sealed class RedisServer : IAsyncDisposable
{
    private readonly ChildProcess _process;

    private RedisServer(ChildProcess process, string kind, int port)
    {
        _process = process;
        Kind = kind;
        Port = port;
    }

    /// <summary>StackExchange.Redis connection string.</summary>
    public string ConnectionString => $"127.0.0.1:{Port}";

    /// <summary>Which server runs: <c>redis-server</c> or <c>garnet-server</c>.</summary>
    public string Kind { get; }

    /// <summary>The loopback port it listens on.</summary>
    public int Port { get; }

    /// <summary>The operating-system process id.</summary>
    public int ProcessId => _process.Id;

    /// <summary>Starts a server and returns once it answers PING.</summary>
    /// <exception cref="InvalidOperationException">No server could be had; the message says what to install or set.</exception>
    public static async Task<RedisServer> StartAsync(RedisServerOptions options, CancellationToken cancellationToken)
    {
        Directory.CreateDirectory(options.DataDirectory);
        await StopStaleServerAsync(options.DataDirectory);

        var port = options.Port == 0 ? FreePort.Next() : options.Port;
        var (kind, startInfo) = ChooseServer(options, port);
        var process = ChildProcess.Start(startInfo);
        var server = new RedisServer(process, kind, port);
        try
        {
            await server.WaitUntilReadyAsync(options.StartTimeout, cancellationToken);
            await File.WriteAllTextAsync(Path.Combine(options.DataDirectory, "server.pid"), process.Id.ToString(), cancellationToken);
            return server;
        }
        catch
        {
            await server.StopAsync();
            throw;
        }
    }

    /// <summary>Stops the server (SIGTERM, then kill).</summary>
    public Task StopAsync() => _process.StopAsync(TimeSpan.FromSeconds(10));

    /// <inheritdoc />
    public async ValueTask DisposeAsync() => await _process.DisposeAsync();

    private static (string Kind, ChildProcessStartInfo StartInfo) ChooseServer(RedisServerOptions options, int port)
    {
        var redisServer = options.UseRedisServerFromPath ? ExecutableLocator.FindOnPath("redis-server") : null;
        if (redisServer is not null)
        {
            return ("redis-server", new ChildProcessStartInfo
            {
                Name = "redis",
                FileName = redisServer,
                // Loopback only; no snapshots: everything kept in Redis is rebuildable (caches,
                // counters rebuilt from the ledger), and a dev machine should not fill its disk.
                // redis-server takes a config file only as its first argument.
                Arguments = [.. (options.ConfigFile is null ? [] : new[] { options.ConfigFile }),
                    "--port", port.ToString(), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no",
                    "--dir", options.DataDirectory, "--daemonize", "no", "--loglevel", "warning",
                    .. (options.Databases is { } databases ? new[] { "--databases", databases.ToString(CultureInfo.InvariantCulture) } : [])],
                WorkingDirectory = options.DataDirectory,
                Output = options.Output,
            });
        }

        var manifest = options.ToolManifestDirectory is null ? null : Path.Combine(options.ToolManifestDirectory, ".config", "dotnet-tools.json");
        if (manifest is not null && File.Exists(manifest) && RestoreTools(options.ToolManifestDirectory!, options.Output))
        {
            // --lua-transaction-mode: without it Garnet does not isolate a script from other
            // connections' commands, and a rate-limit script admitted 51 of 200 concurrent calls against 50.
            return ("garnet-server", new ChildProcessStartInfo
            {
                Name = "redis",
                FileName = "dotnet",
                Arguments = ["tool", "run", "garnet-server", "--", "--port", port.ToString(), "--bind", "127.0.0.1", "--lua", "true", "--lua-transaction-mode", "true"],
                WorkingDirectory = options.ToolManifestDirectory,
                Output = options.Output,
            });
        }

        throw new InvalidOperationException(
            "No Redis-compatible server could be started: 'redis-server' is not on PATH and the Garnet .NET tool " +
            "could not be restored. Install Redis (Debian/Ubuntu: 'sudo apt-get install -y redis-server'), or run " +
            "'dotnet tool restore' in the repository root for Garnet, or point at an existing server with " +
            "ConnectionStrings__redis=host:port.");
    }

    private static bool RestoreTools(string directory, TextWriter output)
    {
        output.WriteLine("[redis] redis-server not found on PATH; restoring the Garnet .NET tool (dotnet tool restore)...");
        using var restore = Process.Start(new ProcessStartInfo("dotnet", ["tool", "restore"])
        {
            WorkingDirectory = directory,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        });
        if (restore is null)
        {
            return false;
        }

        var error = restore.StandardError.ReadToEndAsync();
        restore.StandardOutput.ReadToEnd();
        if (!restore.WaitForExit(TimeSpan.FromMinutes(3)))
        {
            restore.Kill(entireProcessTree: true);
            output.WriteLine("[redis] dotnet tool restore did not finish within 3 minutes.");
            return false;
        }

        if (restore.ExitCode != 0)
        {
            output.WriteLine($"[redis] dotnet tool restore failed: {error.Result.Trim()}");
        }

        return restore.ExitCode == 0;
    }

    private async Task WaitUntilReadyAsync(TimeSpan timeout, CancellationToken cancellationToken)
    {
        using var deadline = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        deadline.CancelAfter(timeout);
        while (true)
        {
            if (_process.HasExited)
            {
                throw new InvalidOperationException(
                    $"{Kind} exited with code {_process.Exited.Result} before answering on port {Port}:{Environment.NewLine}" +
                    string.Join(Environment.NewLine, _process.Tail));
            }

            if (await PingAsync(Port, deadline.Token))
            {
                return;
            }

            try
            {
                await Task.Delay(50, deadline.Token);
            }
            catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
            {
                throw new TimeoutException($"{Kind} did not answer PING on port {Port} within {timeout.TotalSeconds:0} s.");
            }
        }
    }

    /// <summary>Sends an inline PING; true when the answer is +PONG.</summary>
    public static async Task<bool> PingAsync(int port, CancellationToken cancellationToken)
    {
        try
        {
            using var client = new TcpClient();
            await client.ConnectAsync(IPAddress.Loopback, port, cancellationToken);
            var stream = client.GetStream();
            await stream.WriteAsync("PING\r\n"u8.ToArray(), cancellationToken);
            var buffer = new byte[64];
            var read = await stream.ReadAsync(buffer, cancellationToken);
            return Encoding.ASCII.GetString(buffer, 0, read).StartsWith("+PONG", StringComparison.Ordinal);
        }
        catch (Exception ex) when (ex is SocketException or IOException)
        {
            return false;
        }
    }

    /// <summary>
    /// A previous AppHost that was killed outright (SIGKILL) cannot stop its children; stop the
    /// server it left in this data directory so the new one starts clean.
    /// </summary>
    private static async Task StopStaleServerAsync(string dataDirectory)
    {
        var pidFile = Path.Combine(dataDirectory, "server.pid");
        if (!File.Exists(pidFile) || !int.TryParse(await File.ReadAllTextAsync(pidFile), out var pid))
        {
            return;
        }

        File.Delete(pidFile);
        if (StaleProcess.IsRunning(pid, "redis-server", "garnet"))
        {
            ChildProcess.Signal(pid, System.Runtime.InteropServices.PosixSignal.SIGTERM);
            await StaleProcess.WaitForExitAsync(pid, TimeSpan.FromSeconds(10));
        }
    }
}
