using System.Diagnostics;
using System.Runtime.InteropServices;
using System.Text.Json;
using Gateway.Aspire.Hosting.Processes;
using Gateway.Aspire.Hosting.Servers;
using Gateway.Aspire.Testing;

namespace Gateway.Aspire.AppHost.Tests.Orchestration;

/// <summary>The AppHost run as a user runs it: start, serve, stop on a signal, publish.</summary>
public sealed class AppHostRunTests
{
    private static CancellationToken Cancellation => TestContext.Current.CancellationToken;

    [Fact]
    public async Task Starts_everything_and_leaves_no_process_behind_after_SIGINT()
    {
        var directory = TestDirectories.Create("apphost-run");
        var port = FreePort.Next();
        var mockPort = FreePort.Next();
        var config = Path.Combine(directory, "gateway.yaml");
        await File.WriteAllTextAsync(config, (await File.ReadAllTextAsync(Path.Combine(RepositoryRoot.Find(), "gateway.yaml"), Cancellation))
            .Replace("127.0.0.1:9100", $"127.0.0.1:{mockPort}", StringComparison.Ordinal), Cancellation);
        using var process = AppHostProcess.Start(
            ["--port", port.ToString(), "--config", config, "--mock-upstream-port", mockPort.ToString(), "--data-root", directory]);
        var output = ProcessOutput.Collect(process);
        try
        {
            var started = Stopwatch.StartNew();
            using var http = new HttpClient { Timeout = TimeSpan.FromSeconds(2) };
            while (true)
            {
                Assert.False(process.HasExited, $"the AppHost exited early:\n{output}");
                Assert.True(started.Elapsed < TimeSpan.FromSeconds(90), $"the router did not become healthy:\n{output}");
                try
                {
                    if ((await http.GetAsync($"http://localhost:{port}/health", Cancellation)).IsSuccessStatusCode)
                    {
                        break;
                    }
                }
                catch (HttpRequestException)
                {
                }

                await Task.Delay(200, Cancellation);
            }

            // The table lists every resource, the mock upstream included (gateway.yaml points at it).
            await WaitForAsync(() => output.ToString().Contains("mock-upstream", StringComparison.Ordinal));
            Assert.Contains("router", output.ToString(), StringComparison.Ordinal);
            Assert.NotEmpty(AppHostProcess.ProcessesMentioning(directory));

            ChildProcess.Signal(process.Id, PosixSignal.SIGINT);
            await process.WaitForExitAsync(Cancellation).WaitAsync(TimeSpan.FromSeconds(60), Cancellation);

            Assert.Equal(0, process.ExitCode);
            Assert.Contains("Stopped.", output.ToString(), StringComparison.Ordinal);
            Assert.Empty(AppHostProcess.ProcessesMentioning(directory)); // redis, postgres
            Assert.Empty(AppHostProcess.ProcessesMentioning(config)); // the router has GATEWAY_CONFIG only in its environment
            Assert.False(await FreePort.IsListeningAsync(port, Cancellation), "the router still listens");
            Assert.False(await FreePort.IsListeningAsync(mockPort, Cancellation), "the mock upstream still listens");
        }
        finally
        {
            if (!process.HasExited)
            {
                process.Kill(entireProcessTree: true);
            }

            TestDirectories.Delete(directory);
        }
    }

    [Fact]
    public async Task A_restart_after_the_AppHost_was_killed_stops_what_it_left_behind()
    {
        var directory = TestDirectories.Create("apphost-killed");
        var port = FreePort.Next();
        var config = Path.Combine(directory, "gateway.yaml");
        await File.WriteAllTextAsync(config, """
            type: provider-account
            name: remote
            provider: openai-compatible
            base_url: https://api.example.com/v1
            models:
              - name: gpt-4o-mini
            """, Cancellation);
        string[] args = ["--port", port.ToString(), "--config", config, "--data-root", directory];
        Process? second = null;
        try
        {
            using (var first = AppHostProcess.Start(args))
            {
                var firstOutput = ProcessOutput.Collect(first);
                await WaitForAsync(() => firstOutput.ToString().Contains("Press Ctrl-C", StringComparison.Ordinal), TimeSpan.FromSeconds(90));
                Assert.True(firstOutput.ToString().Contains("Press Ctrl-C", StringComparison.Ordinal), firstOutput.ToString());
                first.Kill(entireProcessTree: false); // SIGKILL: no chance to stop its children
                await first.WaitForExitAsync(Cancellation);
            }

            var orphans = Directory.GetFiles(Path.Combine(directory, "projects"), "*.pid")
                .Select(f => int.Parse(File.ReadAllText(f).Split(' ')[0])).ToList();
            Assert.Equal(4, orphans.Count); // policy, accounting, guardrails, router
            Assert.All(orphans, pid => Assert.True(ProcessEnvironment.IsAlive(pid)));

            second = AppHostProcess.Start(args);
            var output = ProcessOutput.Collect(second);
            await WaitForAsync(() => output.ToString().Contains("Press Ctrl-C", StringComparison.Ordinal), TimeSpan.FromSeconds(90));
            Assert.True(output.ToString().Contains("Press Ctrl-C", StringComparison.Ordinal), output.ToString());
            Assert.Contains("left running by an AppHost that did not stop cleanly", output.ToString(), StringComparison.Ordinal);
            Assert.All(orphans, pid => Assert.False(ProcessEnvironment.IsAlive(pid), $"orphan {pid} still runs"));

            ChildProcess.Signal(second.Id, PosixSignal.SIGINT);
            await second.WaitForExitAsync(Cancellation).WaitAsync(TimeSpan.FromSeconds(60), Cancellation);
            Assert.Empty(AppHostProcess.ProcessesMentioning(directory));
            Assert.Empty(Directory.GetFiles(Path.Combine(directory, "projects")));
        }
        finally
        {
            if (second is { HasExited: false })
            {
                second.Kill(entireProcessTree: true);
            }

            second?.Dispose();
            TestDirectories.Delete(directory);
        }
    }

    [Fact]
    public async Task Missing_configuration_file_is_a_one_line_error_not_a_hang()
    {
        using var process = AppHostProcess.Start(["--config", "/nonexistent/gateway.yaml", "--data-root", Path.GetTempPath()]);
        var output = ProcessOutput.Collect(process);

        await process.WaitForExitAsync(Cancellation).WaitAsync(TimeSpan.FromSeconds(30), Cancellation);

        Assert.Equal(1, process.ExitCode);
        Assert.Contains("AppHost: The gateway configuration /nonexistent/gateway.yaml does not exist", output.ToString(), StringComparison.Ordinal);
        Assert.DoesNotContain("   at ", output.ToString(), StringComparison.Ordinal); // no stack trace
    }

    [Fact]
    public async Task A_resource_that_cannot_start_is_a_one_line_error_naming_it_and_exit_code_1()
    {
        // A data root below a regular file: Redis's data directory cannot be created (an IOException of
        // the runtime's, not a message of ours), which used to abort the AppHost (134) with a stack trace.
        var directory = TestDirectories.Create("apphost-bad-data-root");
        try
        {
            var file = Path.Combine(directory, "not-a-directory");
            await File.WriteAllTextAsync(file, "", Cancellation);
            using var process = AppHostProcess.Start(
                ["--port", FreePort.Next().ToString(), "--mock-upstream-port", FreePort.Next().ToString(), "--data-root", Path.Combine(file, "data")]);
            var output = ProcessOutput.Collect(process);

            await process.WaitForExitAsync(Cancellation).WaitAsync(TimeSpan.FromSeconds(60), Cancellation);
            process.WaitForExit(); // the last lines arrive after the exit

            Assert.True(process.ExitCode == 1, $"exit code {process.ExitCode}:\n{output}");
            Assert.Contains("AppHost: redis could not start: Could not find a part of the path", output.ToString(), StringComparison.Ordinal);
            Assert.Contains("Stopped.", output.ToString(), StringComparison.Ordinal);
            Assert.DoesNotContain("   at ", output.ToString(), StringComparison.Ordinal); // no stack trace
        }
        finally
        {
            TestDirectories.Delete(directory);
        }
    }

    [Fact]
    public async Task Publishes_an_Aspire_manifest_without_starting_anything()
    {
        var directory = TestDirectories.Create("manifest");
        try
        {
            var path = Path.Combine(directory, "aspire-manifest.json");
            using var process = AppHostProcess.Start(["--publisher", "manifest", "--output-path", path]);
            var output = ProcessOutput.Collect(process);
            await process.WaitForExitAsync(Cancellation).WaitAsync(TimeSpan.FromSeconds(30), Cancellation);
            Assert.True(process.ExitCode == 0, output.ToString());

            using var manifest = JsonDocument.Parse(await File.ReadAllTextAsync(path, Cancellation));
            var resources = manifest.RootElement.GetProperty("resources");
            Assert.Equal("redis.v0", resources.GetProperty("redis").GetProperty("type").GetString());
            Assert.Equal("postgres.server.v0", resources.GetProperty("postgres").GetProperty("type").GetString());
            Assert.Equal("postgres", resources.GetProperty("gatewaydb").GetProperty("parent").GetString());

            var router = resources.GetProperty("router");
            Assert.Equal("project.v0", router.GetProperty("type").GetString());
            Assert.EndsWith("Router.csproj", router.GetProperty("path").GetString(), StringComparison.Ordinal);
            Assert.True(router.GetProperty("bindings").GetProperty("http").GetProperty("external").GetBoolean());
            var env = router.GetProperty("env");
            Assert.Equal("{policy.bindings.grpc.url}", env.GetProperty("services__policy__grpc__0").GetString());
            // Secrets appear only as parameter references, never as values.
            Assert.Equal("{gateway-admin-key.value}", env.GetProperty("GATEWAY_ADMIN_KEY").GetString());
            Assert.True(resources.GetProperty("gateway-admin-key").GetProperty("inputs").GetProperty("value").GetProperty("secret").GetBoolean());

            var policy = resources.GetProperty("policy");
            Assert.Equal("{redis.connectionString}", policy.GetProperty("env").GetProperty("ConnectionStrings__redis").GetString());
            Assert.Equal("{gatewaydb.connectionString}", policy.GetProperty("env").GetProperty("ConnectionStrings__gatewaydb").GetString());
            Assert.Equal("http2", policy.GetProperty("bindings").GetProperty("grpc").GetProperty("transport").GetString());
            Assert.DoesNotContain("Starting", output.ToString(), StringComparison.Ordinal);
        }
        finally
        {
            TestDirectories.Delete(directory);
        }
    }

    private static Task WaitForAsync(Func<bool> condition) => WaitForAsync(condition, TimeSpan.FromSeconds(10));

    private static async Task WaitForAsync(Func<bool> condition, TimeSpan timeout)
    {
        var until = DateTime.UtcNow + timeout;
        while (!condition() && DateTime.UtcNow < until)
        {
            await Task.Delay(100, Cancellation);
        }
    }
}
