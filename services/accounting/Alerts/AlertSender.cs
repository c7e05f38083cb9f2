using System.Net.Http.Headers;
using System.Net.Sockets;
using MailKit;
using MailKit.Net.Smtp;
using MailKit.Security;
using Microsoft.Extensions.Options;

namespace Gateway.Aspire.Accounting.Alerts;

/// <summary>What one delivery attempt to one target came to.</summary>
public enum DeliveryResult
{
    /// <summary>The target has it (2xx, or the mail server accepted it).</summary>
    Delivered,

    /// <summary>A failure worth retrying: no answer, timeout, HTTP 408, 429 or 5xx, an SMTP 4xx reply.</summary>
    Retry,

    /// <summary>A failure retrying cannot fix (another HTTP 4xx, an SMTP 5xx reply or bad credentials, an unset <c>${ENV}</c>, no SMTP server): logged and given up.</summary>
    Rejected,
}

/// <summary>
/// Sends one alert to one target: a generic JSON POST (<see cref="AlertEntry.ToJson"/>), Slack's
/// <c>{"text"}</c> body, or an email (<see cref="AlertEmail"/>) through the configured SMTP server.
/// </summary>
/// <remarks>
/// Its own <see cref="HttpClient"/> rather than the factory's: the service defaults add a resilience
/// handler that would retry inside an attempt, while <see cref="AlertDispatcher"/> owns retries (with
/// the queue, so they survive a restart). No redirects: a webhook that moves is a configuration error.
/// </remarks>
public sealed class AlertSender(IOptions<AlertOptions> options, IConfiguration configuration, ILogger<AlertSender> logger) : IDisposable
{
    private readonly HttpClient _http = new(new SocketsHttpHandler { AllowAutoRedirect = false, PooledConnectionLifetime = TimeSpan.FromMinutes(5) })
    {
        Timeout = options.Value.RequestTimeout,
    };

    /// <summary>One attempt.</summary>
    public async Task<DeliveryResult> SendAsync(AlertEntry alert, AlertTarget target, CancellationToken cancellationToken)
    {
        if (target.Type == "email")
        {
            return await SendEmailAsync(alert, target, cancellationToken);
        }

        if (target.Type is not ("webhook" or "slack-webhook"))
        {
            AccountingLog.AlertTargetRejected(logger, alert.Id, target.Type, $"unknown target type '{target.Type}'");
            return DeliveryResult.Rejected;
        }

        if (target.ResolveUrl(configuration) is not { } url || !Uri.TryCreate(url, UriKind.Absolute, out var uri))
        {
            AccountingLog.AlertTargetRejected(logger, alert.Id, target.Type, "its url names an environment variable that is not set, or is not a URL");
            return DeliveryResult.Rejected;
        }

        using var content = new ByteArrayContent(target.Type == "slack-webhook" ? alert.ToSlackJson() : alert.ToJson());
        content.Headers.ContentType = new MediaTypeHeaderValue("application/json") { CharSet = "utf-8" };
        try
        {
            using var response = await _http.PostAsync(uri, content, cancellationToken);
            var status = (int)response.StatusCode;
            if (response.IsSuccessStatusCode)
            {
                return DeliveryResult.Delivered;
            }

            var retry = status is 408 or 429 or >= 500;
            AccountingLog.AlertDeliveryFailed(logger, alert.Id, target.Type, TargetForLog(url), $"HTTP {status}", retry);
            return retry ? DeliveryResult.Retry : DeliveryResult.Rejected;
        }
        catch (Exception e) when (e is HttpRequestException or TaskCanceledException && !cancellationToken.IsCancellationRequested)
        {
            AccountingLog.AlertDeliveryFailed(logger, alert.Id, target.Type, TargetForLog(url), e.Message, true);
            return DeliveryResult.Retry;
        }
    }

    /// <inheritdoc />
    public void Dispose() => _http.Dispose();

    private static string TargetForLog(string url) => AlertTarget.Redact(url);

    // MailKit rather than System.Net.Mail.SmtpClient, which Microsoft's docs mark as not recommended for
    // new code; MailKit also reports the server's reply code, which decides retry (4xx) or give up (5xx).
    private async Task<DeliveryResult> SendEmailAsync(AlertEntry alert, AlertTarget target, CancellationToken cancellationToken)
    {
        var smtp = options.Value.Smtp;
        if (string.IsNullOrWhiteSpace(smtp.Host))
        {
            AccountingLog.AlertTargetRejected(logger, alert.Id, target.Type, "no SMTP server is configured (Accounting:Alerts:Smtp:Host)");
            return DeliveryResult.Rejected;
        }

        using var message = CreateEmail(alert, smtp.From, target);
        if (message is null)
        {
            return DeliveryResult.Rejected;
        }

        using var client = new SmtpClient { Timeout = (int)options.Value.RequestTimeout.TotalMilliseconds };
        try
        {
            await client.ConnectAsync(smtp.Host, smtp.Port, smtp.SocketOptions, cancellationToken);
            if (smtp.UserName is not null)
            {
                await client.AuthenticateAsync(smtp.UserName, smtp.Password ?? "", cancellationToken);
            }

            await client.SendAsync(message, cancellationToken);
            await client.DisconnectAsync(quit: true, cancellationToken);
            return DeliveryResult.Delivered;
        }
        catch (SmtpCommandException e)
        {
            // RFC 5321: 4yz is a transient refusal (greylisting, a full queue), 5yz a permanent one (no such mailbox, relaying denied).
            var retry = (int)e.StatusCode < 500;
            AccountingLog.AlertDeliveryFailed(logger, alert.Id, target.Type, smtp.Host, $"SMTP {(int)e.StatusCode}: {e.Message}", retry);
            return retry ? DeliveryResult.Retry : DeliveryResult.Rejected;
        }
        catch (Exception e) when (e is AuthenticationException or SslHandshakeException)
        {
            // Credentials or certificates: configuration, which retrying cannot fix.
            AccountingLog.AlertDeliveryFailed(logger, alert.Id, target.Type, smtp.Host, e.Message, false);
            return DeliveryResult.Rejected;
        }
        catch (Exception e) when (e is SmtpProtocolException or IOException or SocketException or ServiceNotConnectedException or TimeoutException
            || e is OperationCanceledException && !cancellationToken.IsCancellationRequested)
        {
            AccountingLog.AlertDeliveryFailed(logger, alert.Id, target.Type, smtp.Host, e.Message, true);
            return DeliveryResult.Retry;
        }
    }

    private MimeKit.MimeMessage? CreateEmail(AlertEntry alert, string from, AlertTarget target)
    {
        try
        {
            return AlertEmail.Create(alert, from, target.To);
        }
        catch (MimeKit.ParseException e)
        {
            // The loaders validate addresses; this is a sender address from settings, or a queue entry written by hand.
            AccountingLog.AlertTargetRejected(logger, alert.Id, target.Type, $"an address is not valid ({e.Message})");
            return null;
        }
    }
}
