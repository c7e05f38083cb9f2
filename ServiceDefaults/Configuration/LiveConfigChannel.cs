namespace Gateway.Aspire.ServiceDefaults.Configuration;

/// <summary>
/// Where the live configuration is published so every replica of every service picks a change up
/// within a second and without a restart. Policy owns the stored manifests (PostgreSQL, with their
/// history); after each apply it writes the effective configuration — the configuration file's
/// documents overlaid by the applied ones, as one multi-document YAML text — to the Redis hash
/// <see cref="Key"/> and announces the new version on <see cref="Channel"/>. A service reads the
/// hash at start (when present it replaces the file) and again on every announcement.
/// </summary>
public static class LiveConfigChannel
{
    /// <summary>Redis hash holding the effective configuration.</summary>
    public const string Key = "gateway:config:live";

    /// <summary>Field of <see cref="Key"/>: the version (a 64-bit integer, increasing).</summary>
    public const string VersionField = "version";

    /// <summary>Field of <see cref="Key"/>: the effective YAML, all documents.</summary>
    public const string YamlField = "yaml";

    /// <summary>Pub/sub channel; the message is the new version.</summary>
    public const string Channel = "gateway:config:changed";
}
