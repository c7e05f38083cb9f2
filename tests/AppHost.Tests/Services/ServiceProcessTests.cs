using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using System.Runtime.InteropServices;
using Gateway.Aspire.Hosting.ApplicationModel;
using Gateway.Aspire.Hosting.Processes;
using Gateway.Aspire.Hosting.Servers;
using Gateway.Aspire.Testing;
using Npgsql;

namespace Gateway.Aspire.AppHost.Tests.Services;

/// <summary>
/// Each service run as a process from its build output, as the AppHost runs it (ServiceDefaults'
/// ServiceProcess): a start that fails ends in one critical line naming the cause and exit code 1, not
/// an abort (134) with a stack trace; a stop (SIGTERM) exits 0.
/// </summary>
public sealed class ServiceProcessTests(RedisServerFixture redis, PostgresServerFixture postgres)
    : IClassFixture<RedisServerFixture>, IClassFixture<PostgresServerFixture>
{
    private static readonly TimeSpan s_exitTimeout = TimeSpan.FromSeconds(90);

    private static CancellationToken Cancellation => TestContext.Current.CancellationToken;

    [Fact]
    public async Task Guardrails_on_a_port_already_in_use_logs_it_and_exits_1()
    {
        using var taken = new TcpListener(IPAddress.Loopback, 0);
        taken.Start();
        var port = ((IPEndPoint)taken.LocalEndpoint).Port;

        var (exitCode, output) = await RunToExitAsync(new Projects.Guardrails(), new() { ["ASPNETCORE_URLS"] = $"http://127.0.0.1:{port}" });

        AssertFailedStart(exitCode, output, "Gateway.Aspire.Guardrails",
            $"Failed to bind to address http://127.0.0.1:{port}: address already in use.");
    }

    [Fact]
    public async Task Router_with_an_option_that_validation_refuses_logs_it_and_exits_1()
    {
        var directory = TestDirectories.Create("router-bad-option");
        try
        {
            var config = Path.Combine(directory, "gateway.yaml");
            await File.WriteAllTextAsync(config, """
                type: provider-account
                name: local
                provider: openai-compatible
                base_url: http://127.0.0.1:9/v1
                models:
                  - name: gpt-4o-mini
                """, Cancellation);

            var (exitCode, output) = await RunToExitAsync(new Projects.Router(), new()
            {
                ["GATEWAY_CONFIG"] = config,
                ["ConnectionStrings__redis"] = redis.ConnectionString,
                ["Router__MaxRequestBodyBytes"] = "-5",
            });

            AssertFailedStart(exitCode, output, "Gateway.Aspire.Router", "Router: sizes must be positive.");
        }
        finally
        {
            TestDirectories.Delete(directory);
        }
    }

    [Fact]
    public async Task Accounting_refused_by_its_database_logs_it_and_exits_1()
    {
        var refused = new NpgsqlConnectionStringBuilder(await postgres.CreateDatabaseAsync("refused")) { Password = "not-the-password" };

        var (exitCode, output) = await RunToExitAsync(new Projects.Accounting(), new()
        {
            ["ConnectionStrings__gatewaydb"] = refused.ConnectionString,
            ["ConnectionStrings__redis"] = redis.ConnectionString,
        });

        AssertFailedStart(exitCode, output, "Gateway.Aspire.Accounting", $"password authentication failed for user \"{refused.Username}\"");
    }

    [Fact]
    public async Task Policy_without_its_Redis_connection_string_logs_it_and_exits_1()
    {
        // Fails while the service composes itself, before there is a host to start.
        var (exitCode, output) = await RunToExitAsync(new Projects.Policy(), []);

        AssertFailedStart(exitCode, output, "Gateway.Aspire.Policy", "Connection string 'redis' is missing");
    }

    [Fact]
    public async Task A_stop_exits_0()
    {
        var port = FreePort.Next();
        using var process = Start(new Projects.Guardrails(), new() { ["ASPNETCORE_URLS"] = $"http://127.0.0.1:{port}" });
        var output = ProcessOutput.Collect(process);
        try
        {
            using var http = new HttpClient { Timeout = TimeSpan.FromSeconds(2) };
            var started = Stopwatch.StartNew();
            while (!await IsAliveAsync(http, port))
            {
                Assert.False(process.HasExited, $"guardrails exited early:\n{output}");
                Assert.True(started.Elapsed < s_exitTimeout, $"guardrails did not come up:\n{output}");
                await Task.Delay(100, Cancellation);
            }

            ChildProcess.Signal(process.Id, PosixSignal.SIGTERM);
            await process.WaitForExitAsync(Cancellation).WaitAsync(s_exitTimeout, Cancellation);

            Assert.True(process.ExitCode == 0, $"exit code {process.ExitCode}:\n{output}");
            Assert.DoesNotContain("crit:", output.ToString(), StringComparison.Ordinal);
        }
        finally
        {
            if (!process.HasExited)
            {
                process.Kill(entireProcessTree: true);
            }
        }
    }

    /// <summary>Exit code 1, one critical line "<paramref name="application"/> failed to start: ..." naming <paramref name="cause"/>, no stack trace.</summary>
    private static void AssertFailedStart(int exitCode, string output, string application, string cause)
    {
        Assert.True(exitCode == 1, $"exit code {exitCode}:\n{output}");
        var critical = Assert.Single(output.Split('\n'), line => line.StartsWith("crit:", StringComparison.Ordinal));
        Assert.StartsWith($"crit: {application}[930]", critical, StringComparison.Ordinal);
        Assert.Contains($"{application} failed to start: ", output, StringComparison.Ordinal);
        Assert.Contains(cause, output, StringComparison.Ordinal);
        Assert.DoesNotContain("Unhandled exception", output, StringComparison.Ordinal);
        Assert.DoesNotContain("   at ", output, StringComparison.Ordinal);
    }

    private static async Task<(int ExitCode, string Output)> RunToExitAsync(IProjectMetadata project, Dictionary<string, string> environment)
    {
        using var process = Start(project, environment);
        var output = ProcessOutput.Collect(process);
        try
        {
            await process.WaitForExitAsync(Cancellation).WaitAsync(s_exitTimeout, Cancellation);
            process.WaitForExit(); // the last lines of output arrive after the exit
            return (process.ExitCode, output.ToString());
        }
        finally
        {
            if (!process.HasExited)
            {
                process.Kill(entireProcessTree: true);
            }
        }
    }

    /// <summary>
    /// <c>dotnet &lt;build output&gt;</c> from the output's directory, with none of the test process's
    /// connection strings and <paramref name="environment"/> on top.
    /// </summary>
    private static Process Start(IProjectMetadata project, Dictionary<string, string> environment)
    {
        var info = new ProcessStartInfo("dotnet")
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
            WorkingDirectory = Path.GetDirectoryName(project.TargetPath)!,
        };
        info.ArgumentList.Add(project.TargetPath);
        foreach (var name in info.Environment.Keys.Where(k => k.StartsWith("ConnectionStrings__", StringComparison.Ordinal)).ToList())
        {
            info.Environment.Remove(name);
        }

        info.Environment.Remove("GATEWAY_CONFIG");
        foreach (var (name, value) in environment)
        {
            info.Environment[name] = value;
        }

        return Process.Start(info) ?? throw new InvalidOperationException("dotnet did not start");
    }

    private static async Task<bool> IsAliveAsync(HttpClient http, int port)
    {
        try
        {
            return (await http.GetAsync($"http://127.0.0.1:{port}/alive", Cancellation)).IsSuccessStatusCode;
        }
        catch (HttpRequestException)
        {
            return false;
        }
        catch (TaskCanceledException) when (!Cancellation.IsCancellationRequested)
        {
            return false;
        }
    }
}
