using System.Text;
using System.Text.Json;
using Google.Protobuf.Collections;

namespace Gateway.Aspire.Accounting.Ledger;

/// <summary>The caller's metadata as the ledger's jsonb: a flat object of strings.</summary>
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
}
