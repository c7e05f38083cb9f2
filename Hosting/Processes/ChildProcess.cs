using System.Diagnostics;
using System.Runtime.InteropServices;
using Gateway.Aspire.Hosting.Servers;

namespace Gateway.Aspire.Hosting.Processes;

/// <summary>How to start one child process of the AppHost.</summary>
public sealed record ChildProcessStartInfo
{
    /// <summary>Resource name; prefixes every output line as <c>[name] </c>.</summary>
    public required string Name { get; init; }

    /// <summary>Executable to run (a path, or a name looked up on PATH).</summary>
    public required string FileName { get; init; }

    /// <summary>Arguments, passed without shell interpretation. Default: none.</summary>
    public IReadOnlyList<string> Arguments { get; init; } = [];

    /// <summary>Variables added to (or, with a null value, removed from) the inherited environment. Default: none.</summary>
    public IReadOnlyDictionary<string, string?> Environment { get; init; } = new Dictionary<string, string?>();

    /// <summary>Working directory. Default: the current directory.</summary>
    public string? WorkingDirectory { get; init; }

    /// <summary>Where prefixed output lines go. Default: <see cref="Console.Out"/>.</summary>
    public TextWriter Output { get; init; } = Console.Out;
}

/// <summary>
/// A child process whose standard output and error are relayed line by line with its name as a
/// prefix, and which is stopped with a real POSIX signal first (so ASP.NET Core services drain
/// their queues and PostgreSQL shuts down cleanly) before its whole tree is killed.
/// </summary>
public sealed partial class ChildProcess : IAsyncDisposable
{
    private const int TailLength = 40;

    private readonly Process _process;
    private readonly TextWriter _output;
    private readonly Queue<string> _tail = new();
    private readonly TaskCompletionSource<int> _exited = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private readonly Task _stdout;
    private readonly Task _stderr;

    private ChildProcess(Process process, string name, TextWriter output)
    {
        _process = process;
        _output = output;
        Name = name;
        Id = process.Id;
        _stdout = PumpAsync(process.StandardOutput);
        _stderr = PumpAsync(process.StandardError);
        _ = WaitForExitAsync();
    }

    /// <summary>Resource name of the process.</summary>
    public string Name { get; }

    /// <summary>Operating-system process id.</summary>
    public int Id { get; }

    /// <summary>Completes with the exit code once the process has exited and its output is relayed.</summary>
    public Task<int> Exited => _exited.Task;

    /// <summary>Whether the process has exited.</summary>
    public bool HasExited => _exited.Task.IsCompleted;

    /// <summary>The last lines the process wrote, for error messages.</summary>
    public IReadOnlyList<string> Tail
    {
        get
        {
            lock (_tail)
            {
                return [.. _tail];
            }
        }
    }

    /// <summary>Starts the process.</summary>
    /// <exception cref="InvalidOperationException">The executable could not be started.</exception>
    public static ChildProcess Start(ChildProcessStartInfo info)
    {
        // Each child gets a session of its own (setsid execs in place, so the pid stays the
        // child's): a Ctrl-C in the terminal then reaches only the AppHost, which stops the
        // children in dependency order instead of all of them at once.
        var setsid = ExecutableLocator.FindOnPath("setsid");
        var startInfo = new ProcessStartInfo(setsid ?? info.FileName)
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            RedirectStandardInput = true,
            UseShellExecute = false,
            WorkingDirectory = info.WorkingDirectory ?? Directory.GetCurrentDirectory(),
        };
        if (setsid is not null)
        {
            startInfo.ArgumentList.Add(info.FileName);
        }

        foreach (var argument in info.Arguments)
        {
            startInfo.ArgumentList.Add(argument);
        }

        foreach (var (name, value) in info.Environment)
        {
            if (value is null)
            {
                startInfo.Environment.Remove(name);
            }
            else
            {
                startInfo.Environment[name] = value;
            }
        }

        Process process;
        try
        {
            process = Process.Start(startInfo)
                ?? throw new InvalidOperationException($"{info.Name}: '{info.FileName}' did not start.");
        }
        catch (System.ComponentModel.Win32Exception ex)
        {
            throw new InvalidOperationException($"{info.Name}: could not start '{info.FileName}': {ex.Message}", ex);
        }

        // Children never read from the terminal; closing stdin keeps Ctrl-C handling with the AppHost.
        process.StandardInput.Close();
        return new ChildProcess(process, info.Name, TextWriter.Synchronized(info.Output));
    }

    /// <summary>
    /// Sends <paramref name="signal"/>, waits up to <paramref name="grace"/> for the process to exit,
    /// then kills it and everything it started.
    /// </summary>
    public async Task StopAsync(TimeSpan grace, PosixSignal signal = PosixSignal.SIGTERM)
    {
        if (HasExited)
        {
            return;
        }

        if (!Signal(Id, signal))
        {
            KillTree();
        }

        try
        {
            await Exited.WaitAsync(grace);
        }
        catch (TimeoutException)
        {
            _output.WriteLine($"[{Name}] did not stop within {grace.TotalSeconds:0} s; killing it.");
            KillTree();
            await Exited.WaitAsync(TimeSpan.FromSeconds(10));
        }
    }

    /// <inheritdoc />
    public async ValueTask DisposeAsync()
    {
        await StopAsync(TimeSpan.FromSeconds(10));
        _process.Dispose();
    }

    /// <summary>Sends a POSIX signal to a process id. Returns false when it could not be delivered.</summary>
    public static bool Signal(int pid, PosixSignal signal)
    {
        // Process.Kill only sends SIGKILL; graceful stops need SIGTERM/SIGINT, so call libc directly.
        var number = signal switch
        {
            PosixSignal.SIGINT => 2,
            PosixSignal.SIGQUIT => 3,
            PosixSignal.SIGTERM => 15,
            PosixSignal.SIGHUP => 1,
            _ => throw new ArgumentOutOfRangeException(nameof(signal), signal, "Unsupported signal."),
        };
        return OperatingSystem.IsWindows() ? false : NativeMethods.Kill(pid, number) == 0;
    }

    private void KillTree()
    {
        try
        {
            _process.Kill(entireProcessTree: true);
        }
        catch (InvalidOperationException)
        {
            // Already exited.
        }
    }

    private async Task PumpAsync(StreamReader reader)
    {
        while (await reader.ReadLineAsync() is { } line)
        {
            lock (_tail)
            {
                _tail.Enqueue(line);
                if (_tail.Count > TailLength)
                {
                    _tail.Dequeue();
                }
            }

            _output.WriteLine($"[{Name}] {line}");
        }
    }

    private async Task WaitForExitAsync()
    {
        await _process.WaitForExitAsync();
        await Task.WhenAll(_stdout, _stderr);
        _exited.TrySetResult(_process.ExitCode);
    }

    private static partial class NativeMethods
    {
        [LibraryImport("libc", EntryPoint = "kill", SetLastError = true)]
        internal static partial int Kill(int pid, int signal);
    }
}
