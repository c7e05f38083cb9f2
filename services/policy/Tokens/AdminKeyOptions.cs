namespace Gateway.Aspire.Policy.Tokens;

/// <summary>The bootstrap admin key that guards the Tokens service.</summary>
public sealed class AdminKeyOptions
{
    /// <summary>Configuration key (and environment variable) holding the admin key.</summary>
    public const string ConfigurationKey = "GATEWAY_ADMIN_KEY";

    /// <summary>The admin key; when null or empty the admin API is disabled. Default: unset.</summary>
    public string? AdminKey { get; set; }
}
