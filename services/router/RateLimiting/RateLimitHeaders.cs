using System.Globalization;
using System.Text;
using Gateway.Aspire.Policy.Grpc;

namespace Gateway.Aspire.Router.RateLimiting;

/// <summary>
/// OpenAI's rate-limit headers (<c>x-ratelimit-limit-requests</c>, <c>-remaining-requests</c>,
/// <c>-reset-requests</c> and the <c>-tokens</c> trio; resets written like OpenAI's <c>6m0s</c>),
/// plus <c>Retry-After</c> (whole seconds) and <c>retry-after-ms</c>, which the OpenAI SDKs honour.
/// </summary>
internal static class RateLimitHeaders
{
    /// <summary>Writes the headers of the rule that applied (nothing when none did).</summary>
    public static void Write(HttpResponse response, AdmitReply admit)
    {
        foreach (var status in admit.RateLimits)
        {
            var kind = status.Kind == "tokens" ? "tokens" : "requests";
            response.Headers["x-ratelimit-limit-" + kind] = status.Limit.ToString(CultureInfo.InvariantCulture);
            response.Headers["x-ratelimit-remaining-" + kind] = status.Remaining.ToString(CultureInfo.InvariantCulture);
            response.Headers["x-ratelimit-reset-" + kind] = FormatDuration(status.ResetMs);
        }

        if (admit.Decision == AdmitDecision.RateLimited)
        {
            response.Headers.RetryAfter = Math.Max(1, (long)Math.Ceiling(admit.RetryAfterMs / 1000.0)).ToString(CultureInfo.InvariantCulture);
            response.Headers["retry-after-ms"] = admit.RetryAfterMs.ToString(CultureInfo.InvariantCulture);
        }
    }

    /// <summary>OpenAI's duration format: <c>250ms</c>, <c>1s</c>, <c>6m0s</c>, <c>1h2m3s</c>.</summary>
    public static string FormatDuration(long milliseconds)
    {
        if (milliseconds < 1000)
        {
            return Math.Max(0, milliseconds).ToString(CultureInfo.InvariantCulture) + "ms";
        }

        var total = TimeSpan.FromMilliseconds(milliseconds);
        var text = new StringBuilder();
        if (total.TotalHours >= 1)
        {
            text.Append((long)total.TotalHours).Append('h').Append(total.Minutes).Append('m');
        }
        else if (total.TotalMinutes >= 1)
        {
            text.Append(total.Minutes).Append('m');
        }

        var seconds = total.Seconds + total.Milliseconds / 1000.0;
        return text.Append(seconds.ToString("0.###", CultureInfo.InvariantCulture)).Append('s').ToString();
    }
}
