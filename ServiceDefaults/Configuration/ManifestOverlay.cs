using System.Text;

namespace Gateway.Aspire.ServiceDefaults.Configuration;

/// <summary>A text of manifest documents and where it comes from (a file path, <c>request body</c>, <c>applied v4</c>).</summary>
/// <param name="Origin">Names the text in error messages.</param>
/// <param name="Yaml">One or more documents.</param>
public sealed record ManifestLayer(string Origin, string Yaml);

/// <summary>
/// The effective configuration: the configuration file's documents overlaid by the documents
/// applied through the admin API, keyed by (<c>type</c>, <c>name</c>). A later layer's document
/// replaces an earlier one with the same key in its place (rule order across documents is
/// first-match order, so a replaced document keeps its position); a new key is appended. The router,
/// policy and guardrails build it with this one function, so they validate the same candidate.
/// </summary>
/// <remarks>
/// Documents keep their own text (<see cref="ManifestDocument.Text"/>) and their own labels
/// (<c>gateway.yaml, document 3</c>, <c>request body, document 2</c>), so an error in the candidate
/// names the document the operator wrote, with its line, wherever it came from.
/// </remarks>
public static class ManifestOverlay
{
    /// <summary>Every manifest type (DESIGN.md, "Configuration: manifests").</summary>
    public static readonly IReadOnlyList<string> Types =
    [
        "provider-account", "gateway-load-balancing-config", "gateway-rate-limiting-config", "gateway-budget-config", "gateway-guardrails-config",
        "gateway-alerts-config",
    ];

    /// <summary>The origin label of an apply's body in error messages.</summary>
    public const string RequestBody = "request body";

    /// <summary>The key an applied document is stored and replaced under.</summary>
    public static string KeyOf(string type, string name) => type + "/" + name;

    /// <summary>Parses every layer and overlays them in order (see the class remarks).</summary>
    public static IReadOnlyList<ManifestDocument> Build(IEnumerable<ManifestLayer> layers)
    {
        var documents = new List<ManifestDocument>();
        foreach (var layer in layers)
        {
            documents = [.. Overlay(documents, ManifestDocuments.Parse(layer.Yaml, layer.Origin))];
        }

        return documents;
    }

    /// <summary><paramref name="incoming"/> over <paramref name="current"/>: same key replaced in place, new keys appended.</summary>
    public static IReadOnlyList<ManifestDocument> Overlay(IReadOnlyList<ManifestDocument> current, IReadOnlyList<ManifestDocument> incoming)
    {
        var result = current.ToList();
        foreach (var document in incoming)
        {
            var index = document.Name is { } name ? result.FindIndex(d => d.Type == document.Type && d.Name == name) : -1;
            if (index >= 0)
            {
                result[index] = document;
            }
            else
            {
                result.Add(document);
            }
        }

        return result;
    }

    /// <summary>
    /// Reads the body of an apply: at least one document, each of a known type and with a
    /// <c>name</c> (its key), no key twice. Throws <see cref="ManifestException"/> naming the document.
    /// </summary>
    public static IReadOnlyList<ManifestDocument> ParseApply(string yaml)
    {
        var documents = ManifestDocuments.Parse(yaml, RequestBody);
        if (documents.Count == 0)
        {
            throw new ManifestException($"{RequestBody}: no YAML documents; send one or more documents, each with a 'type' and a 'name'.");
        }

        var seen = new Dictionary<string, ManifestDocument>(StringComparer.Ordinal);
        foreach (var document in documents)
        {
            if (!Types.Contains(document.Type))
            {
                throw new ManifestException($"{document.Where}: unknown type '{document.Type}'. Supported types: {string.Join(", ", Types)}.");
            }

            var name = document.Name;
            if (string.IsNullOrWhiteSpace(name))
            {
                throw new ManifestException(
                    $"{document.Where} ({document.Type}) (line {document.Root.Start.Line}): missing required field 'name': applied documents are stored and replaced by type and name.");
            }

            if (!seen.TryAdd(KeyOf(document.Type, name), document))
            {
                throw new ManifestException($"{document.Where} ({document.Type} '{name}'): document {seen[KeyOf(document.Type, name)].Number} has the same type and name.");
            }
        }

        return documents;
    }

    /// <summary>The documents as one multi-document YAML text (what is published as the live configuration).</summary>
    public static string ToYaml(IEnumerable<ManifestDocument> documents)
    {
        var text = new StringBuilder();
        foreach (var document in documents)
        {
            text.Append("---\n").Append(document.Text);
        }

        return text.ToString();
    }
}
