using System.ClientModel;
using System.Net;
using System.Text.Json;
using Gateway.Aspire.Router.Tests.TestHosts;
using OpenAI.Embeddings;
using static Gateway.Aspire.Router.Tests.Providers.EndToEnd.GatewayClients;

namespace Gateway.Aspire.Router.Tests.Apis;

/// <summary>
/// <c>POST /v1/embeddings</c> through the running router with the official OpenAI SDK's
/// <see cref="EmbeddingClient"/> (which asks for base64 vectors): string and array input, dimensions,
/// billing, and a 400 for a model that does not embed.
/// </summary>
public sealed class EmbeddingsApiTests(RouterAppFixture app)
{
    private EmbeddingClient Embeddings(string model = "mock/embed", string? requestId = null) =>
        new(model, new ApiKeyCredential(TestPolicy.GoodToken), OpenAiOptions(app, requestId));

    /// <summary>The mock's embedding tokens for a text input: one per four characters, at least one.</summary>
    private static int EmbeddingTokens(string text) => Math.Max(1, (text.Length + 3) / 4);

    [Fact]
    public async Task String_input_gets_one_unit_vector_of_the_default_dimensions()
    {
        const string text = "The food was delicious and the waiter was kind.";
        var requestId = NewRequestId("embed");

        ClientResult<OpenAIEmbedding> result = await Embeddings(requestId: requestId).GenerateEmbeddingAsync(text, cancellationToken: Cancellation);

        var vector = result.Value.ToFloats().ToArray();
        Assert.Equal(0, result.Value.Index);
        Assert.Equal(8, vector.Length);
        Assert.Equal(1.0, Math.Sqrt(vector.Sum(v => (double)v * v)), precision: 4);
        var raw = result.GetRawResponse();
        Assert.True(raw.Headers.TryGetValue("x-gateway-model", out var served));
        Assert.Equal("mock/embed", served);
        var record = await app.Ledger.WaitForAsync(requestId);
        Assert.Equal(EmbeddingTokens(text), record.PromptTokens);
        Assert.Equal(0, record.CompletionTokens);
        Assert.Equal("mock/embed", record.ServedModel);
        Assert.Equal("0.02", record.Price.InputPerMtok);
    }

    [Fact]
    public async Task Array_input_gets_a_vector_per_input_in_order()
    {
        string[] texts = ["first document", "a second, longer document about gateways", "third"];

        OpenAIEmbeddingCollection embeddings = await Embeddings().GenerateEmbeddingsAsync(texts, cancellationToken: Cancellation);

        Assert.Equal(3, embeddings.Count);
        Assert.Equal([0, 1, 2], embeddings.Select(e => e.Index));
        Assert.All(embeddings, e => Assert.Equal(8, e.ToFloats().Length));
        Assert.Equal("text-embedding-3-small", embeddings.Model);
        Assert.Equal(texts.Sum(EmbeddingTokens), embeddings.Usage.InputTokenCount);
        // Vectors depend on the text only: the same text embeds the same way alone and in a batch.
        OpenAIEmbedding alone = await Embeddings().GenerateEmbeddingAsync(texts[2], cancellationToken: Cancellation);
        Assert.Equal(alone.ToFloats().ToArray(), embeddings[2].ToFloats().ToArray());
        Assert.NotEqual(embeddings[0].ToFloats().ToArray(), embeddings[1].ToFloats().ToArray());
    }

    [Fact]
    public async Task Dimensions_are_passed_to_the_upstream()
    {
        OpenAIEmbedding embedding = await Embeddings().GenerateEmbeddingAsync("resize me", new EmbeddingGenerationOptions { Dimensions = 32 }, Cancellation);

        Assert.Equal(32, embedding.ToFloats().Length);
    }

    [Fact]
    public async Task Float_encoding_and_token_array_input_come_back_as_json_numbers()
    {
        var (response, json) = await PostAsync(app, "/v1/embeddings", """{"model":"mock/embed","input":[[9906,1917],[15339]],"encoding_format":"float"}""");
        using (response)
        {
            Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        }

        var data = json.GetProperty("data");
        Assert.Equal(2, data.GetArrayLength());
        Assert.All(data.EnumerateArray(), d => Assert.Equal(8, d.GetProperty("embedding").EnumerateArray().Count(v => v.ValueKind == JsonValueKind.Number)));
        Assert.Equal(3, json.GetProperty("usage").GetProperty("prompt_tokens").GetInt32());
    }

    [Theory]
    [InlineData("mock/gpt-4o-mini")]
    [InlineData("claude/sonnet")]
    public async Task Chat_model_is_400_for_embeddings(string model)
    {
        var error = await Assert.ThrowsAsync<ClientResultException>(() => Embeddings(model).GenerateEmbeddingAsync("embed me", cancellationToken: Cancellation));

        Assert.Equal(400, error.Status);
        var json = JsonDocument.Parse(error.GetRawResponse()!.Content.ToString()).RootElement.GetProperty("error");
        Assert.Equal("model_not_supported", json.GetProperty("code").GetString());
        Assert.Equal("model", json.GetProperty("param").GetString());
        Assert.Contains($"'{model}'", json.GetProperty("message").GetString(), StringComparison.Ordinal);
        Assert.Contains("/v1/embeddings", json.GetProperty("message").GetString(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task Embedding_model_is_400_for_chat()
    {
        var (response, json) = await PostAsync(app, "/v1/chat/completions", """{"model":"mock/embed","messages":[{"role":"user","content":"Hi"}]}""");
        using (response)
        {
            Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        }

        Assert.Equal("model_not_supported", json.GetProperty("error").GetProperty("code").GetString());
    }
}
