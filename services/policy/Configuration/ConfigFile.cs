using Gateway.Aspire.ServiceDefaults.Configuration;

namespace Gateway.Aspire.Policy.Configuration;

/// <summary>The layers a state is built from: the configuration file, then each applied document.</summary>
internal static class ConfigLayers
{
    /// <summary>The layers of <paramref name="state"/> over <paramref name="file"/>.</summary>
    public static IEnumerable<ManifestLayer> Of(ConfigFile file, ConfigState state)
    {
        if (file.Layer is { } layer)
        {
            yield return layer;
        }

        foreach (var document in state.Documents)
        {
            yield return new ManifestLayer(AppliedOrigin(document.Version), document.Yaml);
        }
    }

    /// <summary>How an applied document is named in errors: <c>applied v4</c>.</summary>
    public static string AppliedOrigin(long version) => $"applied v{version}";
}

/// <summary>The configuration file (<c>GATEWAY_CONFIG</c>) as read at start: the bottom layer of the effective configuration.</summary>
/// <param name="Layer">Its path and text; null when no file is configured.</param>
internal sealed record ConfigFile(ManifestLayer? Layer)
{
    /// <summary>Reads <paramref name="path"/> (null or blank: no file).</summary>
    public static ConfigFile Read(string? path) =>
        new(string.IsNullOrWhiteSpace(path) ? null : new ManifestLayer(path, File.ReadAllText(path)));
}
