using System.Text;
using System.Text.Json.Nodes;

namespace Gateway.Aspire.Router.Tests.Providers.Anthropic;

/// <summary>Compares JSON documents structurally (member order and whitespace do not matter, values and types do).</summary>
internal static class JsonAssert
{
    public static void Equal(string expected, ReadOnlySpan<byte> actual) => Equal(expected, Encoding.UTF8.GetString(actual));

    public static void Equal(string expected, string actual)
    {
        var want = JsonNode.Parse(expected);
        var got = JsonNode.Parse(actual);
        Assert.True(JsonNode.DeepEquals(want, got), $"Expected:\n{want?.ToJsonString()}\nActual:\n{got?.ToJsonString()}");
    }
}
