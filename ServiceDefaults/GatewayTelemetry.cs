namespace Microsoft.Extensions.Hosting;

/// <summary>Names shared by the services' own meters and activity sources.</summary>
public static class GatewayTelemetry
{
    /// <summary>Every meter of ours starts with this; <c>AddServiceDefaults</c> exports them all.</summary>
    public const string MeterPrefix = "Gateway.Aspire.";

    /// <summary>Every activity source of ours starts with this.</summary>
    public const string ActivitySourcePrefix = "Gateway.Aspire.";
}
