using System.Buffers;
using System.Text;
using System.Text.Json;
using Gateway.Aspire.Router.Forwarding;
using Gateway.Aspire.Router.Providers.Streaming;

namespace Gateway.Aspire.Router.Providers.Gemini;

/// <summary>
/// Turns a Gemini <c>GenerateContentResponse</c> (the body of <c>models/{model}:generateContent</c>)
/// into an OpenAI <c>chat.completion</c>.
/// </summary>
/// <remarks>
/// <list type="bullet">
/// <item><c>id</c> is <c>chatcmpl-</c> + Gemini's <c>responseId</c> (a fresh GUID when absent).</item>
/// <item><c>model</c> is the caller's <c>model</c> argument, the name the client asked for; Gemini's
/// <c>modelVersion</c> is not used, so that aliases the gateway resolves stay the names clients see
/// (the router reports the upstream model in its own headers).</item>
/// <item>One choice per candidate, <c>index</c> = the candidate's <c>index</c> or its position. The
/// message's <c>content</c> is the candidate's text parts joined (thought parts skipped), null
/// when there is none; <c>tool_calls</c> come from <c>functionCall</c> parts
/// (<see cref="GeminiCandidates.WriteToolCall"/>).</item>
/// <item>A prompt Gemini refused (no candidates, <c>promptFeedback.blockReason</c>) becomes one
/// choice with null content and <c>finish_reason: "content_filter"</c>; no candidates without a
/// block reason give one empty choice that stopped.</item>
/// <item><c>logprobs</c> is always null: the request translator never asks Gemini for them.</item>
/// </list>
/// </remarks>
internal static class GeminiResponseTranslator
{
    /// <summary>Translates a whole Gemini response.</summary>
    /// <param name="geminiResponse">The upstream body.</param>
    /// <param name="model">The model name to report to the client.</param>
    /// <param name="created">Unix seconds for <c>created</c> (from the router's TimeProvider).</param>
    /// <param name="usage">The usage Gemini reported; all zeros when it sent no <c>usageMetadata</c> (the response then has no <c>usage</c> either).</param>
    /// <returns>The OpenAI <c>chat.completion</c> JSON.</returns>
    /// <exception cref="InvalidDataException">The body is not JSON or not a GenerateContentResponse.</exception>
    public static byte[] Translate(ReadOnlySpan<byte> geminiResponse, string model, long created, out TokenUsage usage)
    {
        using var document = ParseUpstream(geminiResponse);
        var response = document.RootElement;
        GeminiCandidates.RequireObject(response, "response");
        var reported = GeminiUsage.Read(response);
        usage = reported ?? default;

        var buffer = new ArrayBufferWriter<byte>(geminiResponse.Length + 512);
        using (var json = new Utf8JsonWriter(buffer, SseEventWriter.JsonOptions))
        {
            json.WriteStartObject();
            json.WriteString("id"u8, GeminiCandidates.CompletionIdOf(response));
            json.WriteString("object"u8, "chat.completion"u8);
            json.WriteNumber("created"u8, created);
            json.WriteString("model"u8, model);
            json.WriteStartArray("choices"u8);
            WriteChoices(json, response);
            json.WriteEndArray();
            if (reported is { } tokens)
            {
                GeminiUsage.Write(json, tokens);
            }

            json.WriteEndObject();
        }

        return buffer.WrittenSpan.ToArray();
    }

    /// <summary>Parses an upstream body, turning malformed JSON into <see cref="InvalidDataException"/> (a 502, not a 500).</summary>
    internal static JsonDocument ParseUpstream(ReadOnlySpan<byte> body)
    {
        try
        {
            // JsonDocument keeps a reference to its input, so a span must be copied first.
            return JsonDocument.Parse(body.ToArray());
        }
        catch (JsonException e)
        {
            throw new InvalidDataException($"The Gemini API answered with invalid JSON: {e.Message}", e);
        }
    }

    private static void WriteChoices(Utf8JsonWriter json, JsonElement response)
    {
        var text = new StringBuilder();
        var calls = new List<JsonElement>();
        var position = 0;
        foreach (var candidate in GeminiCandidates.Of(response))
        {
            text.Clear();
            calls.Clear();
            var index = GeminiCandidates.IndexOf(candidate, position++);
            var hasText = GeminiCandidates.ReadParts(candidate, text, calls);
            var finish = GeminiCandidates.ToOpenAiFinishReason(GeminiCandidates.FinishReasonOf(candidate), calls.Count > 0);
            WriteChoice(json, index, hasText ? text.ToString() : null, calls, finish);
        }

        if (position == 0)
        {
            var blocked = GeminiCandidates.BlockReasonOf(response) is not null;
            WriteChoice(json, 0, null, calls, blocked ? "content_filter" : "stop");
        }
    }

    private static void WriteChoice(Utf8JsonWriter json, int index, string? content, List<JsonElement> calls, string finishReason)
    {
        json.WriteStartObject();
        json.WriteNumber("index"u8, index);
        json.WriteStartObject("message"u8);
        json.WriteString("role"u8, "assistant"u8);
        json.WriteString("content"u8, content);
        if (calls.Count > 0)
        {
            json.WriteStartArray("tool_calls"u8);
            foreach (var part in calls)
            {
                GeminiCandidates.WriteToolCall(json, part, index: null);
            }

            json.WriteEndArray();
        }

        json.WriteNull("refusal"u8);
        json.WriteEndObject();
        json.WriteNull("logprobs"u8);
        json.WriteString("finish_reason"u8, finishReason);
        json.WriteEndObject();
    }
}
