using System.Text.Json;
using System.Text.RegularExpressions;

namespace Gateway.Aspire.Accounting.Alerts;

/// <summary>
/// One notification target as the alert queue carries it: <c>webhook</c> or <c>slack-webhook</c> with
/// a <c>url</c>, or <c>email</c> with <c>to</c>. Written by policy (budgets) and by
/// <see cref="ServiceDefaults.Alerts.ModelAlertConfigLoader"/>, both validated when their configuration is loaded.
/// </summary>
/// <param name="Type">webhook, slack-webhook or email.</param>
/// <param name="Url">The URL, possibly with <c>${ENV}</c> references; null for email.</param>
/// <param name="To">Email recipients; empty otherwise.</param>
public sealed partial record AlertTarget(string Type, string? Url, IReadOnlyList<string> To)
{
    /// <summary>Reads the queue's JSON array; null when it is malformed.</summary>
    public static IReadOnlyList<AlertTarget>? ParseAll(string json)
    {
        try
        {
            using var document = JsonDocument.Parse(json);
            if (document.RootElement.ValueKind != JsonValueKind.Array)
            {
                return null;
            }

            var targets = new List<AlertTarget>();
            foreach (var item in document.RootElement.EnumerateArray())
            {
                var type = item.TryGetProperty("type", out var t) ? t.GetString() : null;
                var url = item.TryGetProperty("url", out var u) ? u.GetString() : null;
                IReadOnlyList<string> to = item.TryGetProperty("to", out var list) && list.ValueKind == JsonValueKind.Array
                    ? [.. list.EnumerateArray().Select(e => e.GetString() ?? "")]
                    : [];
                if (type is null)
                {
                    return null;
                }

                targets.Add(new AlertTarget(type, url, to));
            }

            return targets;
        }
        catch (Exception e) when (e is JsonException or InvalidOperationException)
        {
            return null;
        }
    }

    /// <summary>
    /// <see cref="Url"/> with each <c>${NAME}</c> replaced from <paramref name="configuration"/> (the
    /// environment included); null when a reference is not set.
    /// </summary>
    public string? ResolveUrl(IConfiguration configuration)
    {
        if (Url is null)
        {
            return null;
        }

        var missing = false;
        var resolved = EnvReference().Replace(Url, m =>
        {
            var value = configuration[m.Groups[1].Value];
            missing |= string.IsNullOrEmpty(value);
            return value ?? "";
        });
        return missing ? null : resolved;
    }

    /// <summary>The URL for logs: scheme, host and port only (webhook paths often hold secrets).</summary>
    public static string Redact(string url) =>
        Uri.TryCreate(url, UriKind.Absolute, out var uri) ? uri.GetLeftPart(UriPartial.Authority) + "/…" : "(invalid url)";

    [GeneratedRegex(@"\$\{([A-Za-z_][A-Za-z0-9_]*)\}")]
    private static partial Regex EnvReference();
}
