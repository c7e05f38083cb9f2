using System.Text;
using System.Text.Json;
using Gateway.Aspire.Router.Forwarding;

namespace Gateway.Aspire.Router.Tests.Forwarding;

public sealed class ChatRequestRewriterTests
{
    private static readonly byte[] s_providerModel = "\"gpt-4o-mini\""u8.ToArray();

    private static (ChatRequestInfo Info, JsonElement Upstream, string Raw) Rewrite(string body, bool? inject = null)
    {
        var bytes = Encoding.UTF8.GetBytes(body);
        Assert.True(ChatRequestInspector.TryInspect(bytes, out var info, out var error), error);
        using var rewritten = ChatRequestRewriter.Rewrite(bytes, info, s_providerModel, inject ?? (info.Stream && info.IncludeUsage != true));
        var raw = Encoding.UTF8.GetString(rewritten.Span);
        return (info, JsonDocument.Parse(raw).RootElement.Clone(), raw);
    }

    [Fact]
    public void Model_is_replaced_and_everything_else_kept_byte_for_byte()
    {
        var body = """{ "messages" : [ {"role":"user","content":"say \"model\": \"x\""} ],  "model" :  "mock/gpt-4o-mini" , "temperature": 0.5 }""";

        var (info, upstream, raw) = Rewrite(body);

        Assert.Equal("mock/gpt-4o-mini", info.Model);
        Assert.False(info.Stream);
        Assert.Equal(body.Replace("\"mock/gpt-4o-mini\"", "\"gpt-4o-mini\"", StringComparison.Ordinal), raw);
        Assert.Equal("gpt-4o-mini", upstream.GetProperty("model").GetString());
        Assert.Equal("say \"model\": \"x\"", upstream.GetProperty("messages")[0].GetProperty("content").GetString());
    }

    [Fact]
    public void Escaped_model_name_is_unescaped_for_lookup_and_fully_replaced()
    {
        var (info, upstream, _) = Rewrite("""{"model":"mock\/gpt-4o\u002dmini","messages":[]}""");

        Assert.Equal("mock/gpt-4o-mini", info.Model);
        Assert.Equal("gpt-4o-mini", upstream.GetProperty("model").GetString());
    }

    [Fact]
    public void Default_max_tokens_is_inserted_first_alongside_injected_usage()
    {
        var bytes = Encoding.UTF8.GetBytes("""{"model":"mock/gpt-4o-mini","stream":true,"messages":[{"role":"user","content":"hi"}]}""");
        Assert.True(ChatRequestInspector.TryInspect(bytes, out var info, out _));

        using var rewritten = ChatRequestRewriter.Rewrite(bytes, info, s_providerModel, injectIncludeUsage: true, "\"max_completion_tokens\":1024,"u8);
        var upstream = JsonDocument.Parse(rewritten.Memory).RootElement;

        Assert.Equal(1024, upstream.GetProperty("max_completion_tokens").GetInt32());
        Assert.True(upstream.GetProperty("stream_options").GetProperty("include_usage").GetBoolean());
        Assert.Equal("gpt-4o-mini", upstream.GetProperty("model").GetString());
        Assert.Equal("hi", upstream.GetProperty("messages")[0].GetProperty("content").GetString());
    }

    [Fact]
    public void Stream_without_stream_options_gets_include_usage()
    {
        var (info, upstream, _) = Rewrite("""{"model":"mock/gpt-4o-mini","stream":true,"messages":[]}""");

        Assert.True(info.Stream);
        Assert.Null(info.IncludeUsage);
        Assert.True(upstream.GetProperty("stream_options").GetProperty("include_usage").GetBoolean());
        Assert.True(upstream.GetProperty("stream").GetBoolean());
    }

    [Theory]
    [InlineData("""{"stream":true,"stream_options":null,"model":"mock/m"}""")]
    [InlineData("""{"model":"mock/m","stream_options":{},"stream":true}""")]
    [InlineData("""{"model":"mock/m","stream_options":{ "include_usage" : false },"stream":true}""")]
    [InlineData("""{"model":"mock/m","stream_options":{"include_usage":null},"stream":true}""")]
    [InlineData("""{"stream_options":{"continuous_usage_stats":true},"stream":true,"model":"mock/m"}""")]
    public void Existing_stream_options_are_amended_not_duplicated(string body)
    {
        var (_, upstream, raw) = Rewrite(body);

        Assert.True(upstream.GetProperty("stream_options").GetProperty("include_usage").GetBoolean());
        Assert.Equal("gpt-4o-mini", upstream.GetProperty("model").GetString());
        Assert.Equal(1, CountOccurrences(raw, "stream_options"));
        Assert.Equal(1, CountOccurrences(raw, "include_usage"));
        if (body.Contains("continuous_usage_stats", StringComparison.Ordinal))
        {
            Assert.True(upstream.GetProperty("stream_options").GetProperty("continuous_usage_stats").GetBoolean());
        }
    }

    [Fact]
    public void Client_that_asked_for_usage_is_left_alone()
    {
        var (info, _, raw) = Rewrite("""{"model":"mock/m","stream":true,"stream_options":{"include_usage":true}}""");

        Assert.True(info.IncludeUsage);
        Assert.Equal("""{"model":"gpt-4o-mini","stream":true,"stream_options":{"include_usage":true}}""", raw);
    }

    [Theory]
    [InlineData("", "not valid JSON")]
    [InlineData("[]", "must be a JSON object")]
    [InlineData("""{"model":"mock/m",}""", "not valid JSON")]
    [InlineData("""{"model":"mock/m"} trailing""", "not valid JSON")]
    [InlineData("""{"messages":[]}""", "'model' is required")]
    [InlineData("""{"model":42}""", "'model' must be a string")]
    [InlineData("""{"model":"a","model":"b"}""", "twice")]
    [InlineData("""{"model":"a","stream":"yes"}""", "'stream' must be a boolean")]
    [InlineData("""{"model":"a","stream_options":{"include_usage":1}}""", "include_usage")]
    public void Invalid_bodies_are_explained(string body, string expected)
    {
        Assert.False(ChatRequestInspector.TryInspect(Encoding.UTF8.GetBytes(body), out _, out var error));
        Assert.Contains(expected, error, StringComparison.Ordinal);
    }

    private static int CountOccurrences(string text, string value) =>
        (text.Length - text.Replace(value, "", StringComparison.Ordinal).Length) / value.Length;
}
