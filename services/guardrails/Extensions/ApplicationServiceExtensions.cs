using Gateway.Aspire.Guardrails.Moderation;
using Gateway.Aspire.Guardrails.Pii;

namespace Gateway.Aspire.Guardrails.Extensions;

/// <summary>Composition of the guardrails service.</summary>
public static class ApplicationServiceExtensions
{
    /// <summary>gRPC and the checks. No Redis or PostgreSQL yet: there are no rules to load.</summary>
    public static IHostApplicationBuilder AddApplicationServices(this IHostApplicationBuilder builder)
    {
        builder.Services.AddGrpc();
        builder.Services.AddSingleton(new ModerationClassifier());
        builder.Services.AddSingleton(new PiiScanner());
        return builder;
    }
}
