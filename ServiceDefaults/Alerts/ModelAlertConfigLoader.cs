using System.Globalization;
using Gateway.Aspire.ServiceDefaults.Configuration;
using YamlDotNet.RepresentationModel;
using static Gateway.Aspire.ServiceDefaults.Configuration.ManifestYaml;

namespace Gateway.Aspire.ServiceDefaults.Alerts;

/// <summary>
/// Reads the <c>gateway-alerts-config</c> documents (error-rate and latency alerts, evaluated by
/// accounting), strictly: an unknown field fails the start, or refuses the <c>apply</c>, naming the
/// file, document, rule and field:
/// <code>
/// type: gateway-alerts-config
/// name: slo
/// rules:
///   - id: chat-health
///     models: [openai/gpt-4o]          # default: every model
///     error_rate_above_percent: 5      # and/or
///     p95_latency_above_ms: 5000
///     window_minutes: 5                # default 5
///     min_requests: 20                 # default 20
///     notification_target: [{ type: slack-webhook, url: "${SLACK_WEBHOOK_URL}" }]
/// </code>
/// Targets take the budget rules' form (<c>webhook</c>/<c>slack-webhook</c> with <c>url</c>,
/// <c>email</c> with <c>to</c>).
/// </summary>
/// <remarks>
/// Shared (ServiceDefaults) because two services read it with the same rules: accounting, which
/// evaluates the rules, and policy, which refuses an invalid document at <c>apply</c> before it is
/// stored (otherwise every accounting replica would refuse the published version and keep its old
/// rules, and the operator would never see why).
/// </remarks>
public static class ModelAlertConfigLoader
{
    /// <summary>The document type this loader owns.</summary>
    public const string DocumentType = "gateway-alerts-config";

    /// <summary>The rules of <paramref name="path"/>; none when it has no such document.</summary>
    public static IReadOnlyList<ModelAlertRule> Load(string path) => Read(ManifestDocuments.Load(path));

    /// <summary>Parses configuration text; <paramref name="path"/> is only used in messages.</summary>
    public static IReadOnlyList<ModelAlertRule> Parse(string text, string path) => Read(ManifestDocuments.Parse(text, path));

    /// <summary>Reads documents already split (e.g. the candidate configuration of an apply, each document keeping its own label).</summary>
    public static IReadOnlyList<ModelAlertRule> Parse(IEnumerable<ManifestDocument> documents) => Read(documents);

    private static List<ModelAlertRule> Read(IEnumerable<ManifestDocument> documents)
    {
        var rules = new List<ModelAlertRule>();
        foreach (var document in documents.Where(d => d.Type == DocumentType))
        {
            var where = Scalar(document.Root, "name", document.Where) is { } name ? $"{document.Where} ({DocumentType} '{name}')" : document.Where;
            RejectUnknown(document.Root, where, "type", "name", "rules");
            if (Child(document.Root, "rules") is not YamlSequenceNode list)
            {
                throw new ManifestException($"{where}: 'rules' must be a list of rules.");
            }

            for (var i = 0; i < list.Children.Count; i++)
            {
                var rule = ReadRule(list.Children[i], $"{where}, rules[{i}]");
                if (rules.FirstOrDefault(r => r.Id == rule.Id) is not null)
                {
                    throw new ManifestException($"{where}, rules[{i}]: rule id '{rule.Id}' is already used; ids must be unique.");
                }

                rules.Add(rule);
            }
        }

        return rules;
    }

    private static ModelAlertRule ReadRule(YamlNode node, string where)
    {
        if (node is not YamlMappingNode map)
        {
            throw new ManifestException($"{where}, line {node.Start.Line}: a rule must be a mapping with an 'id'.");
        }

        var id = Scalar(map, "id", where) ?? throw Missing(map, where, "id");
        where = $"{where} (rule '{id}')";
        RejectUnknown(map, where, "id", "models", "error_rate_above_percent", "p95_latency_above_ms", "window_minutes", "min_requests", "notification_target");
        var errorRate = Number(map, "error_rate_above_percent", where, 0, 100);
        var latency = Number(map, "p95_latency_above_ms", where, 0, 3_600_000);
        if (errorRate is null && latency is null)
        {
            throw new ManifestException($"{where}: set 'error_rate_above_percent', 'p95_latency_above_ms' or both.");
        }

        var targets = Targets(map, where);
        return new ModelAlertRule
        {
            Id = id,
            Models = ScalarList(map, "models", where) ?? [],
            ErrorRateAbovePercent = errorRate,
            P95LatencyAboveMs = latency is null ? null : (double)latency.Value,
            WindowMinutes = (int?)Number(map, "window_minutes", where, 1, 1440, whole: true) ?? 5,
            MinRequests = (int?)Number(map, "min_requests", where, 1, 1_000_000, whole: true) ?? 20,
            TargetsJson = targets,
            Source = where,
        };
    }

    private static decimal? Number(YamlMappingNode map, string field, string where, decimal min, decimal max, bool whole = false)
    {
        if (Scalar(map, field, where) is not { } text)
        {
            return null;
        }

        return decimal.TryParse(text, NumberStyles.AllowDecimalPoint, CultureInfo.InvariantCulture, out var value)
            && value > min - (whole ? 1 : 0) && value <= max && (!whole || value == decimal.Truncate(value))
            ? value
            : throw new ManifestException($"{where}: '{field}' must be {(whole ? "a whole number" : "a number")} {(whole ? "from" : "above")} {min} {(whole ? "to" : "and at most")} {max} (got '{text}').");
    }

    // Same shape and rules as a budget's targets (policy's loader); written out as the queue's JSON.
    private static string Targets(YamlMappingNode map, string where)
    {
        if (Child(map, "notification_target") is not YamlSequenceNode { Children.Count: > 0 } list)
        {
            throw new ManifestException($"{where}: 'notification_target' must be a non-empty list of targets.");
        }

        var buffer = new System.Buffers.ArrayBufferWriter<byte>();
        using (var json = new System.Text.Json.Utf8JsonWriter(buffer))
        {
            json.WriteStartArray();
            for (var i = 0; i < list.Children.Count; i++)
            {
                var at = $"{where}, notification_target[{i}]";
                if (list.Children[i] is not YamlMappingNode target)
                {
                    throw new ManifestException($"{at}: a target must be a mapping with a 'type'.");
                }

                var type = Scalar(target, "type", at) ?? throw Missing(target, at, "type");
                json.WriteStartObject();
                json.WriteString("type", type);
                switch (type)
                {
                    case "webhook" or "slack-webhook":
                        RejectUnknown(target, at, "type", "url");
                        var url = Scalar(target, "url", at) ?? throw Missing(target, at, "url");
                        if (!url.StartsWith("${", StringComparison.Ordinal)
                            && !(Uri.TryCreate(url, UriKind.Absolute, out var uri) && (uri.Scheme == Uri.UriSchemeHttp || uri.Scheme == Uri.UriSchemeHttps)))
                        {
                            throw new ManifestException($"{at}: 'url' must be an absolute http(s) URL or a ${{ENV_VAR}} reference (got '{url}').");
                        }

                        json.WriteString("url", url);
                        break;
                    case "email":
                        RejectUnknown(target, at, "type", "to");
                        var to = ScalarList(target, "to", at) is { Count: > 0 } recipients ? recipients : throw Missing(target, at, "to");
                        json.WriteStartArray("to");
                        foreach (var address in to)
                        {
                            json.WriteStringValue(System.Net.Mail.MailAddress.TryCreate(address, out _)
                                ? address
                                : throw new ManifestException($"{at}: 'to' must be e-mail addresses (got '{address}')."));
                        }

                        json.WriteEndArray();
                        break;
                    default:
                        throw new ManifestException($"{at}: unknown type '{type}'. Known: webhook, slack-webhook, email.");
                }

                json.WriteEndObject();
            }

            json.WriteEndArray();
        }

        return System.Text.Encoding.UTF8.GetString(buffer.WrittenSpan);
    }
}
