using System.Text.Json;

namespace Gateway.Aspire.Bench;

/// <summary>
/// The request bodies: a realistic chat completion of about 1 KB (a system prompt, a short history
/// and a question), identical on both paths except the model name.
/// </summary>
internal sealed class Bodies
{
    private readonly string _directory;

    private Bodies(string directory) => _directory = directory;

    public static async Task<Bodies> WriteAsync(string directory)
    {
        var bodies = new Bodies(directory);
        foreach (var stream in new[] { false, true })
        {
            foreach (var pii in new[] { false, true })
            {
                await File.WriteAllTextAsync(bodies.Direct(stream, pii), Body("gpt-4o-mini", stream, pii));
                foreach (var account in new[] { "mock0", "mock50", "stream1" })
                {
                    await File.WriteAllTextAsync(bodies.Gateway(account, stream, pii), Body($"{account}/gpt-4o-mini", stream, pii));
                }
            }
        }

        return bodies;
    }

    public string Direct(bool stream, bool pii = false) => Path.Combine(_directory, $"body-direct{Suffix(stream, pii)}.json");

    public string Gateway(string account, bool stream, bool pii = false) => Path.Combine(_directory, $"body-{account}{Suffix(stream, pii)}.json");

    /// <summary>
    /// The chat body; with <paramref name="pii"/> the customer also gives an e-mail address and a phone
    /// number (what the PII guardrail masks: two findings in a body of the same size and shape).
    /// </summary>
    public static string Body(string model, bool stream, bool pii = false)
    {
        using var buffer = new MemoryStream();
        using (var json = new Utf8JsonWriter(buffer))
        {
            json.WriteStartObject();
            json.WriteString("model", model);
            json.WriteStartArray("messages");
            Message(json, "system", "You are a support assistant for an online bookshop. Answer briefly and politely, cite the order number when the customer gives one, never promise refunds before the order has been checked, and escalate anything about payments to a human agent.");
            Message(json, "user", "Hi, I ordered three books last Tuesday (order 48213) and only two arrived. The parcel looked intact. What should I do?");
            Message(json, "assistant", "Sorry about that! Could you tell me which title is missing? Sometimes books from different warehouses ship separately, so it may still be on its way.");
            Message(json, "user", "The missing one is 'Designing Data-Intensive Applications'. The tracking page says delivered for the whole order, though. Can you check whether it shipped separately, and if not, send a replacement or refund it?"
                + (pii ? " You can reach me at jane.doe@example.com or +1 415 555 0134." : ""));
            json.WriteEndArray();
            json.WriteNumber("temperature", 0.2);
            json.WriteNumber("max_tokens", 256);
            json.WriteString("user", "customer-48213");
            if (stream)
            {
                json.WriteBoolean("stream", true);
                json.WriteStartObject("stream_options");
                json.WriteBoolean("include_usage", true);
                json.WriteEndObject();
            }

            json.WriteEndObject();
        }

        return System.Text.Encoding.UTF8.GetString(buffer.ToArray());
    }

    private static string Suffix(bool stream, bool pii) => (stream ? "-stream" : "") + (pii ? "-pii" : "");

    private static void Message(Utf8JsonWriter json, string role, string content)
    {
        json.WriteStartObject();
        json.WriteString("role", role);
        json.WriteString("content", content);
        json.WriteEndObject();
    }
}
