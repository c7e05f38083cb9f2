using System.Text.Json.Nodes;

namespace Gateway.Aspire.Router.Tests.Messages;

/// <summary>
/// Variants of a valid JSON document with one value at a time replaced by a value of another
/// kind (null, numbers, strings, a boolean, an empty array or object): for proving that bad
/// shapes anywhere give the translator's own error, never a stray exception.
/// </summary>
internal static class JsonMutations
{
    private static readonly JsonNode?[] Replacements = [null, 0, -1, 1.5, "", "x", true, new JsonArray(), new JsonObject()];

    /// <summary>Every variant of <paramref name="json"/>, as JSON text.</summary>
    public static IEnumerable<string> Of(string json)
    {
        var paths = Descendants(JsonNode.Parse(json)!).OfType<JsonNode>().Select(n => n.GetPath()).ToList();
        foreach (var path in paths)
        {
            foreach (var replacement in Replacements)
            {
                var root = JsonNode.Parse(json)!;
                var target = Descendants(root).First(n => n?.GetPath() == path)!;
                switch (target.Parent)
                {
                    case JsonObject parent:
                        parent[target.GetPropertyName()] = replacement?.DeepClone();
                        break;
                    case JsonArray parent:
                        parent[target.GetElementIndex()] = replacement?.DeepClone();
                        break;
                }

                yield return root.ToJsonString();
            }
        }
    }

    /// <summary>Every node below <paramref name="node"/>, nulls included, parents before children.</summary>
    private static IEnumerable<JsonNode?> Descendants(JsonNode node) =>
        (node switch { JsonObject o => o.Select(p => p.Value), JsonArray a => a, _ => [] })
        .SelectMany(child => child is null ? [child] : Descendants(child).Prepend(child));
}
