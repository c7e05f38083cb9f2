using Gateway.Aspire.ServiceDefaults.Configuration;
using System.Text.Json;
using Gateway.Aspire.Guardrails.Grpc;
using Gateway.Aspire.Router.Configuration;
using Google.Protobuf.Collections;

namespace Gateway.Aspire.Router.Forwarding;

/// <summary>
/// Classifies texts for guardrails with catalog moderation models (<c>POST /v1/moderations</c> in
/// OpenAI's format, through the same pooled upstream client as every provider call). Never throws
/// for an upstream problem: a model that errs, times out or is not in the catalog marks its texts
/// <c>failed</c>, and the guardrails service falls back to its built-in classifier for them.
/// </summary>
/// <remarks>
/// The call path is guardrails → router → provider, as a second CheckInput/CheckOutput: the service
/// says which (already masked) texts need which model, the router asks the models (in parallel) and
/// calls again. The router holds the catalog, keys and connection pools; the service never talks to
/// providers and needs no way back into the router.
/// </remarks>
internal sealed class ExternalModerationClient(LiveConfig<RouterConfig> live, UpstreamInvoker upstream, ILogger<ExternalModerationClient> logger)
{
    /// <summary>Asks every model of <paramref name="needed"/>; one result per text.</summary>
    public async Task<IReadOnlyList<ExternalModeration>> ClassifyAsync(RepeatedField<ModerationNeeded> needed, string requestId, CancellationToken cancellationToken)
    {
        var answers = await Task.WhenAll(needed.Select(n => ClassifyAsync(n, requestId, cancellationToken)));
        return [.. answers.SelectMany(a => a)];
    }

    private async Task<IEnumerable<ExternalModeration>> ClassifyAsync(ModerationNeeded needed, string requestId, CancellationToken cancellationToken)
    {
        IEnumerable<ExternalModeration> Failed() => needed.Texts.Select(text => new ExternalModeration { Model = needed.Model, Text = text, Failed = true });
        if (!live.Current.Catalog.TryResolve(needed.Model, out var model))
        {
            RouterLog.ExternalModerationFailed(logger, requestId, needed.Model, "not in the catalog");
            return Failed();
        }

        using var deadline = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        deadline.CancelAfter(TimeSpan.FromMilliseconds(Math.Max(1, needed.TimeoutMs)));
        try
        {
            using var request = new HttpRequestMessage(HttpMethod.Post, model.ApiUri("moderations"))
            {
                Content = new ByteArrayContent(Body(model.Model.ProviderModelName, needed.Texts)),
            };
            request.Content.Headers.TryAddWithoutValidation("Content-Type", "application/json");
            foreach (var (name, value) in model.Headers)
            {
                request.Headers.TryAddWithoutValidation(name, value);
            }

            using var response = await upstream.Invoker.SendAsync(request, deadline.Token);
            if (!response.IsSuccessStatusCode)
            {
                RouterLog.ExternalModerationFailed(logger, requestId, needed.Model, $"status {(int)response.StatusCode}");
                return Failed();
            }

            using var json = await JsonDocument.ParseAsync(await response.Content.ReadAsStreamAsync(deadline.Token), cancellationToken: deadline.Token);
            var results = json.RootElement.GetProperty("results");
            if (results.GetArrayLength() != needed.Texts.Count)
            {
                RouterLog.ExternalModerationFailed(logger, requestId, needed.Model, "wrong number of results");
                return Failed();
            }

            var answers = new List<ExternalModeration>(needed.Texts.Count);
            var i = 0;
            foreach (var result in results.EnumerateArray())
            {
                var answer = new ExternalModeration { Model = needed.Model, Text = needed.Texts[i++] };
                foreach (var score in result.GetProperty("category_scores").EnumerateObject())
                {
                    if (score.Value.ValueKind == JsonValueKind.Number)
                    {
                        answer.CategoryScores[score.Name] = score.Value.GetDouble();
                    }
                }

                answers.Add(answer);
            }

            return answers;
        }
        catch (Exception e) when (!cancellationToken.IsCancellationRequested
            && e is OperationCanceledException or HttpRequestException or IOException or TimeoutException or JsonException or KeyNotFoundException or InvalidOperationException)
        {
            RouterLog.ExternalModerationFailed(logger, requestId, needed.Model, e is OperationCanceledException ? $"no answer within {needed.TimeoutMs} ms" : e.GetType().Name);
            return Failed();
        }
    }

    private static byte[] Body(string providerModel, RepeatedField<string> texts)
    {
        using var buffer = new MemoryStream();
        using (var writer = new Utf8JsonWriter(buffer))
        {
            writer.WriteStartObject();
            writer.WriteString("model", providerModel);
            writer.WriteStartArray("input");
            foreach (var text in texts)
            {
                writer.WriteStringValue(text);
            }

            writer.WriteEndArray();
            writer.WriteEndObject();
        }

        return buffer.ToArray();
    }
}
