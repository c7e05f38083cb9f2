using System.Text;
using System.Text.Json;
using Gateway.Aspire.Accounting.Grpc;
using Google.Protobuf.Collections;

namespace Gateway.Aspire.Accounting.Ledger;

/// <summary>The caller's metadata (a flat object of strings) and the call's guardrail findings (an array) as the ledger's jsonb.</summary>
internal static class LedgerMetadata
{
    /// <summary>The entries as a JSON object, keys in ordinal order (stable text); null when empty.</summary>
    public static string? ToJson(MapField<string, string> metadata)
    {
        if (metadata.Count == 0)
        {
            return null;
        }

        using var buffer = new MemoryStream();
        using (var writer = new Utf8JsonWriter(buffer))
        {
            writer.WriteStartObject();
            foreach (var (key, value) in metadata.OrderBy(e => e.Key, StringComparer.Ordinal))
            {
                writer.WriteString(key, value);
            }

            writer.WriteEndObject();
        }

        return Encoding.UTF8.GetString(buffer.GetBuffer(), 0, (int)buffer.Length);
    }

    /// <summary>Guardrail findings as the ledger's jsonb array of objects, in the order given; null when none.</summary>
    public static string? ToJson(RepeatedField<GuardrailFinding> findings)
    {
        if (findings.Count == 0)
        {
            return null;
        }

        using var buffer = new MemoryStream();
        using (var writer = new Utf8JsonWriter(buffer))
        {
            writer.WriteStartArray();
            foreach (var finding in findings)
            {
                writer.WriteStartObject();
                writer.WriteString("rule", finding.Rule);
                writer.WriteString("check", finding.Check);
                writer.WriteString("category", finding.Category);
                writer.WriteString("action", finding.Action);
                writer.WriteNumber("count", finding.Count);
                writer.WriteString("stage", finding.Stage);
                writer.WriteEndObject();
            }

            writer.WriteEndArray();
        }

        return Encoding.UTF8.GetString(buffer.GetBuffer(), 0, (int)buffer.Length);
    }

    /// <summary>Reads the jsonb array of <see cref="ToJson(RepeatedField{GuardrailFinding})"/> back into <paramref name="to"/>.</summary>
    public static void ReadFindings(string json, RepeatedField<GuardrailFinding> to)
    {
        using var document = JsonDocument.Parse(json);
        foreach (var item in document.RootElement.EnumerateArray())
        {
            to.Add(new GuardrailFinding
            {
                Rule = Text(item, "rule"),
                Check = Text(item, "check"),
                Category = Text(item, "category"),
                Action = Text(item, "action"),
                Count = item.TryGetProperty("count", out var count) && count.TryGetInt32(out var n) ? n : 0,
                Stage = Text(item, "stage"),
            });
        }
    }

    private static string Text(JsonElement item, string name) =>
        item.TryGetProperty(name, out var value) && value.ValueKind == JsonValueKind.String ? value.GetString()! : "";
}
