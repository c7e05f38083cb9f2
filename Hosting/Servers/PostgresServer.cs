using System.Diagnostics;
using System.Runtime.InteropServices;
using System.Security.Cryptography;
using Gateway.Aspire.Hosting.Processes;
using Npgsql;

namespace Gateway.Aspire.Hosting.Servers;

/// <summary>Options for a local PostgreSQL server.</summary>
public sealed record PostgresServerOptions
{
    /// <summary>Cluster directory (initdb runs on first use). Created if missing.</summary>
    public required string DataDirectory { get; init; }

    /// <summary>Loopback port; 0 (the default) picks a free one.</summary>
    public int Port { get; init; }

    /// <summary>Where the server's output goes, prefixed with its name. Default: <see cref="Console.Out"/>.</summary>
    public TextWriter Output { get; init; } = Console.Out;

    /// <summary>
    /// Trade durability for speed (fsync, synchronous_commit and full_page_writes off): for
    /// throw-away test clusters only. Default: false.
    /// </summary>
    public bool NonDurable { get; init; }

    /// <summary>How long to wait for the server to accept connections. Default: 60 s.</summary>
    public TimeSpan StartTimeout { get; init; } = TimeSpan.FromSeconds(60);
}

/// <summary>
/// A PostgreSQL server on loopback run from the locally installed binaries (found through
/// <c>pg_config --bindir</c> or <c>/usr/lib/postgresql/*/bin</c>). PostgreSQL refuses to run as
/// root, so when we are root the server runs as the unprivileged <c>postgres</c> OS user (created
/// by the Debian package) through <c>setpriv</c>, which execs in place: the child's pid is the
/// postmaster's, so signals reach it directly.
/// </summary>
public sealed partial class PostgresServer : IAsyncDisposable
{
    private const string SuperUser = "postgres";

    private readonly ChildProcess _process;
    private readonly string _password;

    private PostgresServer(ChildProcess process, int port, string password)
    {
        _process = process;
        Port = port;
        _password = password;
    }

    /// <summary>The loopback port it listens on.</summary>
    public int Port { get; }

    /// <summary>The postmaster's process id.</summary>
    public int ProcessId => _process.Id;

    /// <summary>Npgsql connection string for <paramref name="database"/> as the superuser.</summary>
    public string GetConnectionString(string database) => new NpgsqlConnectionStringBuilder
    {
        Host = "127.0.0.1",
        Port = Port,
        Username = SuperUser,
        Password = _password,
        Database = database,
    }.ConnectionString;

    /// <summary>Initialises the cluster if needed, starts the server and returns once it accepts connections.</summary>
    /// <exception cref="InvalidOperationException">The binaries are missing or the server did not start; the message says what to do.</exception>
    public static async Task<PostgresServer> StartAsync(PostgresServerOptions options, CancellationToken cancellationToken)
    {
        var binDirectory = FindBinDirectory();
        var runAs = Environment.UserName == "root" ? FindRunAsUser() : null;
        var dataDirectory = Path.GetFullPath(options.DataDirectory);
        Directory.CreateDirectory(dataDirectory);
        var passwordFile = dataDirectory.TrimEnd('/') + ".password";
        var password = File.Exists(passwordFile) ? (await File.ReadAllTextAsync(passwordFile, cancellationToken)).Trim() : null;

        await StopStaleServerAsync(dataDirectory, options.Output);

        if (!File.Exists(Path.Combine(dataDirectory, "PG_VERSION")))
        {
            password = Convert.ToHexString(RandomNumberGenerator.GetBytes(16)).ToLowerInvariant();
            await InitializeClusterAsync(binDirectory, dataDirectory, runAs, password, options.Output, cancellationToken);
            await File.WriteAllTextAsync(passwordFile, password, cancellationToken);
            RestrictToOwner(passwordFile, UnixFileMode.UserRead | UnixFileMode.UserWrite);
        }
        else if (password is null)
        {
            throw new InvalidOperationException(
                $"The PostgreSQL cluster in {dataDirectory} has no password file ({passwordFile}). Delete the directory to start afresh.");
        }

        var port = options.Port == 0 ? FreePort.Next() : options.Port;
        List<string> arguments =
        [
            "-D", dataDirectory, "-p", port.ToString(),
            // TCP on loopback only; no Unix socket, whose default directory may not exist or be writable.
            "-c", "listen_addresses=127.0.0.1", "-c", "unix_socket_directories=",
            "-c", "max_connections=200",
        ];
        if (options.NonDurable)
        {
            arguments.AddRange(["-c", "fsync=off", "-c", "synchronous_commit=off", "-c", "full_page_writes=off"]);
        }

        var process = ChildProcess.Start(Command("postgres", Path.Combine(binDirectory, "postgres"), arguments, runAs, options.Output));
        var server = new PostgresServer(process, port, password);
        try
        {
            await server.WaitUntilReadyAsync(options.StartTimeout, cancellationToken);
            return server;
        }
        catch
        {
            await server.StopAsync();
            throw;
        }
    }

    /// <summary>Creates <paramref name="database"/> unless it exists.</summary>
    public async Task EnsureDatabaseAsync(string database, CancellationToken cancellationToken)
    {
        await using var connection = new NpgsqlConnection(GetConnectionString("postgres"));
        await connection.OpenAsync(cancellationToken);
        await using var exists = new NpgsqlCommand("SELECT 1 FROM pg_database WHERE datname = $1", connection);
        exists.Parameters.AddWithValue(database);
        if (await exists.ExecuteScalarAsync(cancellationToken) is null)
        {
            await using var create = new NpgsqlCommand($"CREATE DATABASE \"{database.Replace("\"", "\"\"", StringComparison.Ordinal)}\"", connection);
            await create.ExecuteNonQueryAsync(cancellationToken);
        }
    }

    /// <summary>Stops the server with a fast shutdown (SIGINT: roll back open transactions, checkpoint, exit).</summary>
    public Task StopAsync() => _process.StopAsync(TimeSpan.FromSeconds(30), PosixSignal.SIGINT);

    /// <inheritdoc />
    public async ValueTask DisposeAsync() => await StopAsync();

    private async Task WaitUntilReadyAsync(TimeSpan timeout, CancellationToken cancellationToken)
    {
        using var deadline = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        deadline.CancelAfter(timeout);
        var connectionString = new NpgsqlConnectionStringBuilder(GetConnectionString("postgres")) { Pooling = false, Timeout = 2 }.ConnectionString;
        while (true)
        {
            if (_process.HasExited)
            {
                throw new InvalidOperationException(
                    $"PostgreSQL exited with code {_process.Exited.Result} before accepting connections on port {Port}:{Environment.NewLine}" +
                    string.Join(Environment.NewLine, _process.Tail));
            }

            try
            {
                await using var connection = new NpgsqlConnection(connectionString);
                await connection.OpenAsync(deadline.Token);
                return;
            }
            catch (Exception ex) when (ex is NpgsqlException or TimeoutException or IOException)
            {
                // Not up yet (or still recovering): try again.
            }
            catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
            {
                throw new TimeoutException($"PostgreSQL did not accept connections on port {Port} within {timeout.TotalSeconds:0} s.");
            }

            try
            {
                await Task.Delay(100, deadline.Token);
            }
            catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
            {
                throw new TimeoutException($"PostgreSQL did not accept connections on port {Port} within {timeout.TotalSeconds:0} s.");
            }
        }
    }

    private static async Task InitializeClusterAsync(
        string binDirectory, string dataDirectory, RunAsUser? runAs, string password, TextWriter output, CancellationToken cancellationToken)
    {
        output.WriteLine($"[postgres] initialising a new cluster in {dataDirectory}");
        // initdb reads the password from a file the server's user can read; it is removed right after.
        var pwfile = Path.Combine(Path.GetTempPath(), $"gateway-pg-{Guid.NewGuid():N}");
        await File.WriteAllTextAsync(pwfile, password, cancellationToken);
        try
        {
            if (runAs is not null)
            {
                Chown(pwfile, runAs);
                ChownRecursive(dataDirectory, runAs);
            }

            // initdb insists on a data directory only its owner can enter.
            RestrictToOwner(dataDirectory, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute);
            var initdb = ChildProcess.Start(Command("initdb", Path.Combine(binDirectory, "initdb"),
                ["-D", dataDirectory, "-U", SuperUser, "--pwfile", pwfile, "--auth", "scram-sha-256", "-E", "UTF8", "--no-instructions"],
                runAs, TextWriter.Null));
            var exitCode = await initdb.Exited.WaitAsync(TimeSpan.FromMinutes(2), cancellationToken);
            if (exitCode != 0)
            {
                throw new InvalidOperationException(
                    $"initdb failed with exit code {exitCode}:{Environment.NewLine}{string.Join(Environment.NewLine, initdb.Tail)}");
            }
        }
        finally
        {
            File.Delete(pwfile);
        }
    }

    private static ChildProcessStartInfo Command(string name, string executable, IReadOnlyList<string> arguments, RunAsUser? runAs, TextWriter output) =>
        runAs is null
            ? new ChildProcessStartInfo { Name = name, FileName = executable, Arguments = arguments, Output = output, WorkingDirectory = "/" }
            : new ChildProcessStartInfo
            {
                Name = name,
                FileName = "setpriv",
                Arguments = ["--reuid", runAs.Uid.ToString(), "--regid", runAs.Gid.ToString(), "--clear-groups", "--", executable, .. arguments],
                Environment = new Dictionary<string, string?> { ["HOME"] = "/tmp", ["USER"] = SuperUser },
                Output = output,
                WorkingDirectory = "/",
            };

    /// <summary>
    /// A postmaster left running by an AppHost that was killed outright would keep the data
    /// directory locked; stop it (fast shutdown) so this start succeeds.
    /// </summary>
    private static async Task StopStaleServerAsync(string dataDirectory, TextWriter output)
    {
        var pidFile = Path.Combine(dataDirectory, "postmaster.pid");
        if (!File.Exists(pidFile))
        {
            return;
        }

        var firstLine = File.ReadLines(pidFile).FirstOrDefault();
        if (int.TryParse(firstLine, out var pid) && StaleProcess.IsRunning(pid, "postgres"))
        {
            output.WriteLine($"[postgres] stopping a server left running from an earlier run (pid {pid})");
            ChildProcess.Signal(pid, PosixSignal.SIGINT);
            await StaleProcess.WaitForExitAsync(pid, TimeSpan.FromSeconds(30));
        }
    }

    private static string FindBinDirectory()
    {
        var fromPgConfig = RunQuietly("pg_config", "--bindir");
        if (fromPgConfig is not null && File.Exists(Path.Combine(fromPgConfig, "postgres")))
        {
            return fromPgConfig;
        }

        const string debianRoot = "/usr/lib/postgresql";
        if (Directory.Exists(debianRoot))
        {
            var newest = Directory.GetDirectories(debianRoot)
                .Select(d => (Dir: d, Version: int.TryParse(Path.GetFileName(d), out var v) ? v : 0))
                .Where(d => File.Exists(Path.Combine(d.Dir, "bin", "postgres")))
                .OrderByDescending(d => d.Version)
                .FirstOrDefault();
            if (newest.Dir is not null)
            {
                return Path.Combine(newest.Dir, "bin");
            }
        }

        throw new InvalidOperationException(
            "No PostgreSQL server binaries found (looked at 'pg_config --bindir' and /usr/lib/postgresql/*/bin). " +
            "Install them (Debian/Ubuntu: 'sudo apt-get install -y postgresql'), or point at an existing database with " +
            "ConnectionStrings__gatewaydb=\"Host=...;Database=gatewaydb;Username=...;Password=...\".");
    }

    private static RunAsUser FindRunAsUser()
    {
        var uid = RunQuietly("id", "-u", SuperUser);
        var gid = RunQuietly("id", "-g", SuperUser);
        if (uid is null || gid is null || ExecutableLocator.FindOnPath("setpriv") is null)
        {
            throw new InvalidOperationException(
                "PostgreSQL refuses to run as root and there is no 'postgres' OS user to run it as (or no setpriv). " +
                "Create one ('useradd --system postgres'), run the AppHost as a normal user, or set ConnectionStrings__gatewaydb.");
        }

        return new RunAsUser(int.Parse(uid), int.Parse(gid));
    }

    private static string? RunQuietly(string fileName, params string[] arguments)
    {
        try
        {
            using var process = Process.Start(new ProcessStartInfo(fileName, arguments)
            {
                RedirectStandardOutput = true,
                RedirectStandardError = true,
                UseShellExecute = false,
            });
            if (process is null)
            {
                return null;
            }

            var text = process.StandardOutput.ReadToEnd().Trim();
            process.WaitForExit();
            return process.ExitCode == 0 && text.Length > 0 ? text : null;
        }
        catch (System.ComponentModel.Win32Exception)
        {
            return null;
        }
    }

    private static void ChownRecursive(string directory, RunAsUser user)
    {
        Chown(directory, user);
        foreach (var entry in Directory.EnumerateFileSystemEntries(directory, "*", SearchOption.AllDirectories))
        {
            Chown(entry, user);
        }
    }

    private static void Chown(string path, RunAsUser user)
    {
        if (NativeMethods.Chown(path, user.Uid, user.Gid) != 0)
        {
            throw new InvalidOperationException($"Could not hand {path} to the postgres user (chown failed, errno {Marshal.GetLastPInvokeError()}).");
        }
    }

    private static void RestrictToOwner(string path, UnixFileMode mode)
    {
        if (!OperatingSystem.IsWindows())
        {
            File.SetUnixFileMode(path, mode);
        }
    }

    private sealed record RunAsUser(int Uid, int Gid);

    private static partial class NativeMethods
    {
        [LibraryImport("libc", EntryPoint = "chown", SetLastError = true, StringMarshalling = StringMarshalling.Utf8)]
        internal static partial int Chown(string path, int owner, int group);
    }
}
