using System.Text;
using Gateway.Aspire.Router.Caching;

namespace Gateway.Aspire.Router.Tests.Caching;

public sealed class CacheKeyTests
{
    private const string Chat = "/v1/chat/completions";
    private const string Model = "mock/gpt-4o-mini";

    private const string Body = """
        {"model":"mock/gpt-4o-mini","temperature":0.5,"messages":[{"role":"user","content":"Hi"}],
         "tools":[{"type":"function","function":{"name":"f","parameters":{"type":"object","properties":{"a":{"type":"string"}}}}}],
         "response_format":{"type":"json_object"}}
        """;

    private static string Key(string body, string tenant = "team:a", string api = Chat, string model = Model, ResponseForm form = ResponseForm.Json, string? variant = null) =>
        CacheKey.Compute(tenant, api, model, Encoding.UTF8.GetBytes(body), form, variant)?.RequestHash
            ?? throw new InvalidOperationException("not JSON");

    [Fact]
    public void KeyOrder_Whitespace_Escapes_AndNumberSpelling_DoNotChangeTheKey()
    {
        const string same = """
            {
              "response_format" : { "type" : "json_object" },
              "messages" : [ { "content" : "H\u0069", "role" : "user" } ],
              "tools" : [ { "function" : { "parameters" : { "properties" : { "a" : { "type" : "string" } }, "type" : "object" }, "name" : "f" }, "type" : "function" } ],
              "temperature" : 5.0e-1,
              "model" : "mock/gpt-4o-mini"
            }
            """;

        Assert.Equal(Key(Body), Key(same));
        Assert.Equal(Key("""{"n":1,"messages":[]}"""), Key("""{"n":1.000,"messages":[]}"""));
        Assert.Equal(Key("""{"top_p":100}"""), Key("""{"top_p":1e2}"""));
    }

    [Fact]
    public void FieldsThatDoNotChangeTheAnswer_AreIgnored_AtTheTopLevelOnly()
    {
        var withExtras = Body.Replace("\"temperature\"", """
            "stream":true,"stream_options":{"include_usage":true},"user":"u-42","metadata":{"run":"7"},
            "safety_identifier":"x","store":true,"prompt_cache_key":"k","prompt_cache_retention":"24h","temperature"
            """, StringComparison.Ordinal);

        Assert.Equal(Key(Body), Key(withExtras));
        // Inside a message, "user" or "metadata" are content: they count.
        Assert.NotEqual(
            Key("""{"messages":[{"role":"user","content":"Hi"}]}"""),
            Key("""{"messages":[{"role":"user","content":"Hi","metadata":{"a":"b"}}]}"""));
        Assert.Equal(["model", "stream", "stream_options", "user", "metadata", "safety_identifier", "store", "prompt_cache_key", "prompt_cache_retention"],
            RequestCanonicalizer.IgnoredFields);
    }

    [Theory]
    [InlineData("\"temperature\":0.5", "\"temperature\":0.7")]
    [InlineData("\"content\":\"Hi\"", "\"content\":\"Hi!\"")]
    [InlineData("\"type\":\"json_object\"", "\"type\":\"text\"")]
    [InlineData("\"name\":\"f\"", "\"name\":\"g\"")]
    [InlineData("\"temperature\":0.5", "\"temperature\":0.5,\"seed\":1")]
    [InlineData("\"temperature\":0.5", "\"temperature\":\"0.5\"")]
    [InlineData("\"role\":\"user\"", "\"role\":\"user\",\"name\":null")]
    public void EveryFieldThatChangesTheAnswer_ChangesTheKey(string from, string to)
    {
        Assert.NotEqual(Key(Body), Key(Body.Replace(from, to, StringComparison.Ordinal)));
    }

    [Fact]
    public void ManyMembers_InAnyOrder_AtAnyDepth_AreOneKey()
    {
        var members = Enumerable.Range(0, 40).Select(i => $"\"k{i:D2}\":{{\"b\":{i},\"a\":[{i},{{\"y\":1,\"x\":2}}]}}").ToList();
        var shuffled = members.Where((_, i) => i % 2 == 1).Concat(members.Where((_, i) => i % 2 == 0).Reverse()).ToList();

        Assert.Equal(Key("{" + string.Join(",", members) + "}"), Key("{" + string.Join(",", shuffled) + "}"));
        Assert.NotEqual(Key("{" + string.Join(",", members) + "}"), Key("{" + string.Join(",", members.Skip(1)) + "}"));
    }

    [Fact]
    public void DuplicateNames_KeepTheirOrder()
    {
        Assert.NotEqual(Key("""{"a":1,"a":2}"""), Key("""{"a":2,"a":1}"""));
        Assert.Equal(Key("""{"b":0,"a":1,"a":2}"""), Key("""{"a":1,"b":0,"a":2}"""));
    }

    [Fact]
    public void ArrayOrder_Matters()
    {
        Assert.NotEqual(Key("""{"stop":["a","b"]}"""), Key("""{"stop":["b","a"]}"""));
    }

    [Fact]
    public void TenantApiModelAndVariant_AreEachPartOfTheKey()
    {
        var key = Key(Body);

        Assert.NotEqual(key, Key(Body, tenant: "team:b"));
        Assert.NotEqual(key, Key(Body, api: "/v1/messages"));
        Assert.NotEqual(key, Key(Body, model: "mock/gpt-4o"));
        Assert.NotEqual(key, Key(Body, variant: "prompt-caching-2024-07-31"));
        // Length-prefixed fields: moving a character from one field to the next is another key.
        Assert.NotEqual(Key(Body, tenant: "team:a", api: "/x"), Key(Body, tenant: "team:a/", api: "x"));
    }

    [Fact]
    public void StreamOrNot_IsTheSameQuestion_KeptInItsOwnForm()
    {
        var json = CacheKey.Compute("team:a", Chat, Model, Encoding.UTF8.GetBytes(Body), ResponseForm.Json)!.Value;
        var stream = CacheKey.Compute("team:a", Chat, Model, Encoding.UTF8.GetBytes("{\"stream\":true," + Body[1..]), ResponseForm.EventStream)!.Value;

        Assert.Equal(json.RequestHash, stream.RequestHash);
        Assert.Equal(json.TenantHash, stream.TenantHash);
        Assert.NotEqual(json.Value, stream.Value);
        Assert.Matches("^[0-9a-f]{16}:[0-9a-f]{64}:j$", json.Value);
        Assert.Equal(ResponseForm.EventStreamWithUsage, ResponseForms.Of(stream: true, includeUsage: true));
        Assert.Equal(ResponseForm.EventStream, ResponseForms.Of(stream: true, includeUsage: false));
        Assert.Equal(ResponseForm.Json, ResponseForms.Of(stream: false, includeUsage: true));
    }

    [Fact]
    public void TenantHash_GroupsOneTenantsKeys()
    {
        var a1 = CacheKey.Compute("team:a", Chat, Model, "{\"x\":1}"u8, ResponseForm.Json)!.Value;
        var a2 = CacheKey.Compute("team:a", Chat, Model, "{\"x\":2}"u8, ResponseForm.Json)!.Value;
        var b = CacheKey.Compute("team:b", Chat, Model, "{\"x\":1}"u8, ResponseForm.Json)!.Value;

        Assert.Equal(a1.TenantHash, a2.TenantHash);
        Assert.NotEqual(a1.TenantHash, b.TenantHash);
    }

    [Theory]
    [InlineData("not json")]
    [InlineData("{\"a\":1} trailing")]
    [InlineData("")]
    public void NotJson_HasNoKey(string body)
    {
        Assert.Null(CacheKey.Compute("team:a", Chat, Model, Encoding.UTF8.GetBytes(body), ResponseForm.Json));
    }

    [Fact]
    public void HugeAndOddNumbers_AreKeyedWithoutFailing()
    {
        Assert.Equal(Key("""{"a":1e300}"""), Key("""{"a":1.0e300}"""));
        Assert.NotEqual(Key("""{"a":1e300}"""), Key("""{"a":2e300}"""));
        Assert.NotEqual(Key("""{"a":0.1}"""), Key("""{"a":0.10000001}"""));
    }
}
