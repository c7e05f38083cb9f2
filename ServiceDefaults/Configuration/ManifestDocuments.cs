using YamlDotNet.Core;
using YamlDotNet.Core.Events;
using YamlDotNet.RepresentationModel;

namespace Gateway.Aspire.ServiceDefaults.Configuration;

/// <summary>One non-empty document of a manifest file.</summary>
/// <param name="Number">1-based position in the file.</param>
/// <param name="Type">Its <c>type</c>.</param>
/// <param name="Root">The document's mapping.</param>
/// <param name="Where">"<c>gateway.yaml, document 3</c>": the prefix of every error about it.</param>
public sealed record ManifestDocument(int Number, string Type, YamlMappingNode Root, string Where)
{
    /// <summary>
    /// The document's own text, as written (from the line its mapping starts on to its end): what
    /// the configuration store keeps and publishes, so comments and formatting inside it survive.
    /// </summary>
    public string Text { get; init; } = "";

    /// <summary>Its <c>name</c>, or null when it has none.</summary>
    public string? Name => ManifestYaml.Scalar(Root, "name", Where);
}

/// <summary>
/// Reads the YAML manifests every service shares (<c>gateway.yaml</c>: documents separated by
/// <c>---</c>, each a mapping with a <c>type</c>). Each service then validates the types it owns
/// with <see cref="ManifestYaml"/>, so the router (provider accounts) and policy (rate limits) read
/// the same file with the same rules and the same error wording.
/// </summary>
public static class ManifestDocuments
{
    /// <summary>Reads and splits <paramref name="path"/>.</summary>
    public static IReadOnlyList<ManifestDocument> Load(string path)
    {
        string text;
        try
        {
            text = File.ReadAllText(path);
        }
        catch (IOException e)
        {
            throw new ManifestException($"Cannot read gateway configuration '{path}': {e.Message}", e);
        }

        return Parse(text, path);
    }

    /// <summary>Splits <paramref name="text"/> into documents; <paramref name="path"/> is only used in messages.</summary>
    public static IReadOnlyList<ManifestDocument> Parse(string text, string path)
    {
        var file = Path.GetFileName(path);
        var stream = new YamlStream();
        var parser = new DocumentEnds(new Parser(new StringReader(text)));
        try
        {
            stream.Load(parser);
        }
        catch (YamlException e)
        {
            throw new ManifestException($"{file}: invalid YAML at line {e.Start.Line}: {e.Message}", e);
        }
        catch (InvalidOperationException e)
        {
            // YamlDotNet's scanner fails this way on some malformed input (e.g. an unclosed '[' followed by more lines).
            throw new ManifestException($"{file}: invalid YAML after line {parser.Current?.End.Line ?? 1}: look for an unclosed bracket or quote.", e);
        }

        var documents = new List<ManifestDocument>();
        var number = 0;
        foreach (var document in stream.Documents)
        {
            number++;
            if (document.RootNode is YamlScalarNode { Value: null or "" })
            {
                continue; // an empty document, e.g. a trailing '---'
            }

            var where = $"{file}, document {number}";
            if (document.RootNode is not YamlMappingNode root)
            {
                throw new ManifestException($"{where} (line {document.RootNode.Start.Line}): a document must be a mapping with a 'type'.");
            }

            var type = ManifestYaml.Scalar(root, "type", where)
                ?? throw new ManifestException($"{where} (line {root.Start.Line}): missing required field 'type'.");
            documents.Add(new ManifestDocument(number, type, root, where) { Text = Slice(text, root, parser.Ends[number - 1]) });
        }

        return documents;
    }

    /// <summary>
    /// The source text of <paramref name="root"/>: from the start of its first line (so indentation
    /// stays valid) to where its document ends, trailing blank space trimmed.
    /// </summary>
    private static string Slice(string text, YamlMappingNode root, long end)
    {
        var start = (int)(root.Start.Index - (root.Start.Column - 1));
        return text[Math.Max(0, start)..(int)Math.Min(end, text.Length)].TrimEnd() + "\n";
    }

    /// <summary>
    /// Records where each document ends while YamlDotNet loads the stream: its nodes only know where
    /// they start, and a document's text runs to the next <c>---</c> (or <c>...</c>, or the end).
    /// </summary>
    private sealed class DocumentEnds(IParser inner) : IParser
    {
        /// <summary>The offset at which each document (empty ones too) ends.</summary>
        public List<long> Ends { get; } = [];

        public ParsingEvent? Current => inner.Current;

        public bool MoveNext()
        {
            var moved = inner.MoveNext();
            if (moved && inner.Current is DocumentEnd end)
            {
                Ends.Add(end.Start.Index);
            }

            return moved;
        }
    }
}

/// <summary>Strict accessors over YamlDotNet's representation model: every error names the document, the field and its line.</summary>
public static class ManifestYaml
{
    /// <summary>Fails on any key of <paramref name="map"/> not in <paramref name="known"/>: a typo silently ignored is a misconfigured gateway.</summary>
    public static void RejectUnknown(YamlMappingNode map, string where, params string[] known)
    {
        foreach (var key in map.Children.Keys)
        {
            var name = (key as YamlScalarNode)?.Value;
            if (name is null || !known.Contains(name))
            {
                throw new ManifestException($"{where}, line {key.Start.Line}: unknown field '{name}'. Allowed fields: {string.Join(", ", known)}.");
            }
        }
    }

    /// <summary>The value of <paramref name="key"/>; an absent key and an empty or <c>null</c> value are the same.</summary>
    public static YamlNode? Child(YamlMappingNode map, string key) =>
        !map.Children.TryGetValue(new YamlScalarNode(key), out var node) || node is YamlScalarNode { Style: ScalarStyle.Plain, Value: null or "" or "~" or "null" }
            ? null
            : node;

    /// <summary>A single value, or null when absent.</summary>
    public static string? Scalar(YamlMappingNode map, string key, string where) => Child(map, key) switch
    {
        null => null,
        YamlScalarNode scalar => scalar.Value,
        var other => throw new ManifestException($"{where}, line {other.Start.Line}: '{key}' must be a single value."),
    };

    /// <summary>A list of single values, or null when absent.</summary>
    public static IReadOnlyList<string>? ScalarList(YamlMappingNode map, string key, string where) => Child(map, key) switch
    {
        null => null,
        YamlSequenceNode list => [.. list.Children.Select(item => item is YamlScalarNode { Value: { } value }
            ? value
            : throw new ManifestException($"{where}, line {item.Start.Line}: every item of '{key}' must be a single value."))],
        var other => throw new ManifestException($"{where}, line {other.Start.Line}: '{key}' must be a list, e.g. [a, b]."),
    };

    /// <summary>The "missing required field" error.</summary>
    public static ManifestException Missing(YamlMappingNode map, string where, string field) =>
        new($"{where} (line {map.Start.Line}): missing required field '{field}'.");
}

/// <summary>A manifest is invalid; the message names the file, the document and the field.</summary>
public class ManifestException(string message, Exception? inner = null) : Exception(message, inner);
