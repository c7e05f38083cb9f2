using System.Net;
using System.Net.Http.Headers;
using System.Net.Mail;
using Microsoft.Extensions.Options;

namespace Gateway.Aspire.Accounting.Alerts;

/// <summary>What one delivery attempt to one target came to.</summary>
public enum DeliveryResult
{
    /// <summary>The target has it (2xx, or the mail server accepted it).</summary>
    Delivered,

    /// <summary>A failure worth retrying: no answer, timeout, 408, 429 or 5xx.</summary>
    Retry,

    /// <summary>A failure retrying cannot fix (another 4xx, an unset <c>${ENV}</c>, no SMTP server): logged and given up.</summary>
    Rejected,
}

/// <summary>
/// Sends one alert to one target: a generic JSON POST (<see cref="AlertEntry.ToJson"/>), Slack's
/// <c>{"text"}</c> body, or an email through the configured SMTP server.
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

    private async Task<DeliveryResult> SendEmailAsync(AlertEntry alert, AlertTarget target, CancellationToken cancellationToken)
    {
        var smtp = options.Value.Smtp;
        if (string.IsNullOrWhiteSpace(smtp.Host))
        {
            AccountingLog.AlertTargetRejected(logger, alert.Id, target.Type, "no SMTP server is configured (Accounting:Alerts:Smtp:Host)");
            return DeliveryResult.Rejected;
        }

        using var message = new MailMessage { From = new MailAddress(smtp.From), Subject = $"[gateway] {alert.Kind}: {alert.Fields.GetValueOrDefault("rule")}", Body = alert.Message() };
        foreach (var to in target.To)
        {
            message.To.Add(to);
        }

        using var client = new SmtpClient(smtp.Host, smtp.Port) { EnableSsl = smtp.EnableSsl };
        if (smtp.UserName is not null)
        {
            client.Credentials = new NetworkCredential(smtp.UserName, smtp.Password);
        }

        try
        {
            await client.SendMailAsync(message, cancellationToken);
            return DeliveryResult.Delivered;
        }
        catch (SmtpException e)
        {
            AccountingLog.AlertDeliveryFailed(logger, alert.Id, target.Type, smtp.Host, e.Message, true);
            return DeliveryResult.Retry;
        }
    }
}
