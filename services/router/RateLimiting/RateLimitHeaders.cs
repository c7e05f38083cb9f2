using System.Globalization;
using Gateway.Aspire.Policy.Grpc;

namespace Gateway.Aspire.Router.RateLimiting;

/// <summary>
/// OpenAI's rate-limit headers (<c>x-ratelimit-limit-requests</c>, <c>-remaining-requests</c>,
/// <c>-reset-requests</c> and the <c>-tokens</c> trio; resets written like OpenAI's <c>6m0s</c>),
/// plus <c>Retry-After</c> (whole seconds) and <c>retry-after-ms</c>, which the OpenAI SDKs honour.
/// </summary>
internal static class RateLimitHeaders
{
    // Constant names: written on every request a rule applies to, so no name is concatenated per request.
    private static readonly (string Limit, string Remaining, string Reset) s_tokens = ("x-ratelimit-limit-tokens", "x-ratelimit-remaining-tokens", "x-ratelimit-reset-tokens");
    private static readonly (string Limit, string Remaining, string Reset) s_requests = ("x-ratelimit-limit-requests", "x-ratelimit-remaining-requests", "x-ratelimit-reset-requests");

    /// <summary>Writes the headers of the rule that applied (nothing when none did).</summary>
    public static void Write(HttpResponse response, AdmitReply admit)
    {
        foreach (var status in admit.RateLimits)
        {
            var names = status.Kind == "tokens" ? s_tokens : s_requests;
            response.Headers[names.Limit] = status.Limit.ToString(CultureInfo.InvariantCulture);
            response.Headers[names.Remaining] = status.Remaining.ToString(CultureInfo.InvariantCulture);
            response.Headers[names.Reset] = FormatDuration(status.ResetMs);
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

        // Formatted on the stack: one string per header, no builder (a reset header goes out with every limited request).
        var total = TimeSpan.FromMilliseconds(milliseconds);
        Span<char> text = stackalloc char[64];
        var length = 0;
        if (total.TotalHours >= 1)
        {
            Append(text, ref length, (long)total.TotalHours, 'h');
            Append(text, ref length, total.Minutes, 'm');
        }
        else if (total.TotalMinutes >= 1)
        {
            Append(text, ref length, total.Minutes, 'm');
        }

        var seconds = total.Seconds + total.Milliseconds / 1000.0;
        seconds.TryFormat(text[length..], out var written, "0.###", CultureInfo.InvariantCulture);
        length += written;
        text[length++] = 's';
        return new string(text[..length]);
    }

    private static void Append(Span<char> text, ref int length, long value, char unit)
    {
        value.TryFormat(text[length..], out var written, provider: CultureInfo.InvariantCulture);
        length += written;
        text[length++] = unit;
    }
}
