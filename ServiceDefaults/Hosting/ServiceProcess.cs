using Microsoft.AspNetCore.Builder;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.Logging;

namespace Microsoft.Extensions.Hosting;

/// <summary>
/// Runs a service's process: creates the builder, lets the service compose and build its application,
/// runs it until it is stopped and returns the process's exit code. A start that fails (a port already
/// in use, an option that validation refuses, a configuration file that does not load, a database that
/// refuses the service) ends in one critical log line naming the cause and exit code
/// <see cref="FailedExitCode"/>, not in an unhandled exception: that aborts the runtime (SIGABRT, exit
/// code 134) after a stack trace a user has to read from the bottom up. A stop (SIGTERM, Ctrl-C) exits 0.
/// </summary>
/// <remarks>
/// Failures are caught around the whole composition, not only around <c>Run</c>: the services load
/// their configuration files while registering services, before anything is built.
/// </remarks>
public static class ServiceProcess
{
    /// <summary>The exit code of a service that could not start, or that stopped on an error.</summary>
    public const int FailedExitCode = 1;

    /// <summary>The category of the host's own lifecycle logs (<c>Microsoft.Extensions.Hosting.Internal.Host</c>).</summary>
    private const string HostCategory = "Microsoft.Extensions.Hosting.Internal.Host";

    /// <summary>
    /// Runs the application that <paramref name="compose"/> builds from a builder of
    /// <paramref name="args"/>; returns 0 after a stop, <see cref="FailedExitCode"/> after a failure.
    /// </summary>
    public static int Run(string[] args, Func<WebApplicationBuilder, WebApplication> compose)
    {
        WebApplicationBuilder? builder = null;
        IHostApplicationLifetime? lifetime = null; // taken before the run: a failed start disposes the services
        try
        {
            builder = WebApplication.CreateBuilder(args);
            // The host logs a failed start as an error with the exception's stack trace, then throws it to
            // us; we log it once, below. At Critical the category still reports a BackgroundService that
            // stops the host, the one failure it reports that does not reach us. Configuring a level keeps it.
            if (builder.Configuration[$"Logging:LogLevel:{HostCategory}"] is null)
            {
                builder.Logging.AddFilter(HostCategory, LogLevel.Critical);
            }

            var app = compose(builder);
            lifetime = app.Lifetime;
            app.Run();
            return 0;
        }
        catch (OperationCanceledException) when (lifetime?.ApplicationStopping.IsCancellationRequested == true)
        {
            // Stopped (SIGTERM, Ctrl-C) while still starting: a stop, not a failure.
            return 0;
        }
        catch (Exception error) when (error is not HostAbortedException)
        {
            // HostAbortedException is how design-time tools stop the host once they have built it: not ours.
            var application = builder?.Environment.ApplicationName ?? AppDomain.CurrentDomain.FriendlyName;
            var started = lifetime?.ApplicationStarted.IsCancellationRequested == true;
            Report(builder?.Configuration, application, started, error);
            return FailedExitCode;
        }
    }

    /// <summary>
    /// The cause of <paramref name="error"/> in one line: its message, then each inner exception's
    /// message that says something new ("Failed to connect to 127.0.0.1:5432: Connection refused"), and
    /// every failure of an aggregate.
    /// </summary>
    private static string Describe(Exception error)
    {
        if (error is AggregateException { InnerExceptions.Count: > 0 } aggregate)
        {
            return string.Join("; ", aggregate.InnerExceptions.Select(Describe));
        }

        var text = error.Message;
        for (var inner = error.InnerException; inner is not null; inner = inner.InnerException)
        {
            if (!text.Contains(inner.Message.TrimEnd('.'), StringComparison.OrdinalIgnoreCase))
            {
                text = $"{text.TrimEnd('.')}: {inner.Message}";
            }
        }

        return text;
    }

    /// <summary>
    /// Logs the failure through a console logger of its own: a failure while composing has no
    /// application logger yet, and a failed start has already disposed the application's.
    /// </summary>
    private static void Report(IConfiguration? configuration, string application, bool started, Exception error)
    {
        using var loggers = LoggerFactory.Create(logging =>
        {
            if (configuration is not null)
            {
                logging.AddConfiguration(configuration.GetSection("Logging")); // the same format and levels
            }

            logging.AddConsole();
        });
        var logger = loggers.CreateLogger(application);
        if (started)
        {
            ServiceProcessLog.StoppedOnError(logger, application, Describe(error));
        }
        else
        {
            ServiceProcessLog.StartFailed(logger, application, Describe(error));
        }

        ServiceProcessLog.FailureDetail(logger, error);
    }
}
