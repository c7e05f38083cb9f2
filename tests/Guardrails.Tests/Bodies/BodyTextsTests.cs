using System.Text;
using System.Text.Json;
using Gateway.Aspire.Guardrails.Bodies;

namespace Gateway.Aspire.Guardrails.Tests.Bodies;

/// <summary>Finding the texts of OpenAI and Anthropic bodies and rewriting them in place.</summary>
public sealed class BodyTextsTests
{
    private static BodyTexts Read(string json, string api, BodyDirection direction = BodyDirection.Request) =>
        BodyTexts.Read(Encoding.UTF8.GetBytes(json), api, direction);

    private static IEnumerable<(string, TextRole)> Texts(BodyTexts texts) => texts.Texts.Select(t => (t.Value, t.Role));

    [Fact]
    public void ChatRequest_EveryMessageTextWithItsRole_IncludingContentPartsAndRoleAfterContent()
    {
        var texts = Read("""
            {"model":"m","messages":[
              {"role":"system","content":"Be brief."},
              {"content":[{"type":"text","text":"Look at this:"},{"type":"image_url","image_url":{"url":"https://x/y.png"}}],"role":"user"},
              {"role":"assistant","content":null,"tool_calls":[{"id":"c1","type":"function","function":{"name":"f","arguments":"{\"q\":\"x\"}"}}]},
              {"role":"tool","tool_call_id":"c1","content":"result text"},
              {"role":"developer","content":[{"type":"text","text":"dev note"}]}
            ],"user":"someone","metadata":{"content":"not a message"}}
            """, "/v1/chat/completions");

        Assert.Equal(
            [("Be brief.", TextRole.System), ("Look at this:", TextRole.User), ("result text", TextRole.Tool), ("dev note", TextRole.System)],
            Texts(texts));
    }

    [Fact]
    public void AnthropicRequest_SystemBlocks_TextBlocks_AndToolResults()
    {
        var texts = Read("""
            {"model":"m","max_tokens":10,"system":[{"type":"text","text":"You are terse."}],"messages":[
              {"role":"user","content":"Hello"},
              {"role":"assistant","content":[{"type":"text","text":"Hi"},{"type":"tool_use","id":"t","name":"f","input":{"text":"not text"}}]},
              {"role":"user","content":[{"type":"tool_result","tool_use_id":"t","content":"tool says"},
                                        {"type":"tool_result","tool_use_id":"u","content":[{"type":"text","text":"nested"}]}]}
            ]}
            """, "/v1/messages");

        Assert.Equal(
            [("You are terse.", TextRole.System), ("Hello", TextRole.User), ("Hi", TextRole.Assistant), ("tool says", TextRole.User), ("nested", TextRole.User)],
            Texts(texts));
    }

    [Fact]
    public void AnthropicRequest_SystemAsAString() =>
        Assert.Equal([("Sys", TextRole.System)], Texts(Read("""{"system":"Sys","messages":[]}""", "/v1/messages")));

    [Theory]
    [InlineData("/v1/completions", """{"model":"m","prompt":["one","two"]}""")]
    [InlineData("/v1/embeddings", """{"model":"m","input":["one","two"]}""")]
    public void PromptsAndInputs_AreUserTexts(string api, string json) =>
        Assert.Equal([("one", TextRole.User), ("two", TextRole.User)], Texts(Read(json, api)));

    [Fact]
    public void TokenArrays_AndUnknownApis_HaveNoTexts()
    {
        Assert.Empty(Read("""{"model":"m","input":[[1,2,3]]}""", "/v1/embeddings").Texts);
        Assert.Empty(Read("""{"model":"m","prompt":"a cat"}""", "/v1/images/generations").Texts);
    }

    [Fact]
    public void Responses_OfEveryApi_AreAssistantTextsPerChoice()
    {
        var chat = Read("""{"choices":[{"index":0,"message":{"role":"assistant","content":"A"}},{"index":1,"message":{"role":"assistant","content":"B"}}],"usage":{}}""",
            "/v1/chat/completions", BodyDirection.Response);
        var completions = Read("""{"choices":[{"text":"C","index":0}]}""", "/v1/completions", BodyDirection.Response);
        var messages = Read("""{"content":[{"type":"text","text":"D"},{"type":"tool_use","input":{"text":"x"}}],"role":"assistant"}""", "/v1/messages", BodyDirection.Response);

        Assert.Equal([("A", 0), ("B", 1)], chat.Texts.Select(t => (t.Value, t.Message)));
        Assert.All(chat.Texts, t => Assert.Equal(TextRole.Assistant, t.Role));
        Assert.Equal("C", Assert.Single(completions.Texts).Value);
        Assert.Equal("D", Assert.Single(messages.Texts).Value);
    }

    [Fact]
    public void Write_ReplacesOnlyChangedTexts_AndKeepsEveryOtherByte()
    {
        const string json = "{ \"model\" : \"m\",\n  \"messages\": [ {\"role\":\"user\", \"content\": \"mail a@b.co \\u00e9\"},\n {\"role\":\"user\",\"content\":\"keep \\\"me\\\"\"} ],\n \"temperature\": 0.50 }";
        var texts = Read(json, "/v1/chat/completions");
        Assert.Equal("mail a@b.co é", texts.Texts[0].Value); // escapes are read

        texts.Texts[0].Value = "mail [EMAIL_1] é \"quoted\"\n";
        var written = Encoding.UTF8.GetString(texts.Write());

        Assert.Equal(
            "{ \"model\" : \"m\",\n  \"messages\": [ {\"role\":\"user\", \"content\": \"mail [EMAIL_1] é \\\"quoted\\\"\\n\"},\n {\"role\":\"user\",\"content\":\"keep \\\"me\\\"\"} ],\n \"temperature\": 0.50 }",
            written);
        using var document = JsonDocument.Parse(written);
        Assert.Equal("mail [EMAIL_1] é \"quoted\"\n", document.RootElement.GetProperty("messages")[0].GetProperty("content").GetString());
    }

    [Fact]
    public void Write_WithoutChanges_IsTheSameBytes()
    {
        const string json = """{"messages":[{"role":"user","content":"hi"}]}""";
        var texts = Read(json, "/v1/chat/completions");
        texts.Texts[0].Value = "hi";

        Assert.False(texts.Changed);
        Assert.Equal(json, Encoding.UTF8.GetString(texts.Write()));
    }

    [Fact]
    public void NotJson_Throws() =>
        Assert.ThrowsAny<JsonException>(() => Read("{\"messages\": [", "/v1/chat/completions"));
}
