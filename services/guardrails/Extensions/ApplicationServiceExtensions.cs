using Gateway.Aspire.Guardrails.Checks;
using Gateway.Aspire.Guardrails.Moderation;
using Gateway.Aspire.Guardrails.Pii;
using Gateway.Aspire.Guardrails.PromptInjection;
using Gateway.Aspire.Guardrails.Rules;

namespace Gateway.Aspire.Guardrails.Extensions;

/// <summary>Composition of the guardrails service.</summary>
public static class ApplicationServiceExtensions
{
    /// <summary>
    /// gRPC, the checks, and the <c>gateway-guardrails-config</c> rules of <c>GATEWAY_CONFIG</c> (when
    /// set), loaded and validated now so an invalid file fails the start with the file, document, rule
    /// and field named. With a <c>redis</c> connection string the rules then follow the live
    /// configuration (<see cref="ServiceDefaults.Configuration.LiveConfigSubscriber{T}"/>); without
    /// one (unit-test hosts) the file's rules stay in force. No PostgreSQL.
    /// </summary>
    public static IHostApplicationBuilder AddApplicationServices(this IHostApplicationBuilder builder)
    {
        builder.Services.AddGrpc();
        builder.Services.AddSingleton(new ModerationClassifier());
        builder.Services.AddSingleton<PiiScanner>();
        builder.Services.AddSingleton<PromptInjectionDetector>();
        builder.Services.AddSingleton<PiiCheck>();
        builder.Services.AddSingleton<IContentCheck>(services => services.GetRequiredService<PiiCheck>());
        builder.Services.AddSingleton<IContentCheck, ModerationCheck>();
        builder.Services.AddSingleton<IContentCheck, PromptInjectionCheck>();
        builder.Services.AddSingleton<IContentCheck, DenyListCheck>();
        builder.Services.AddSingleton<GuardrailEvaluator>();

        var configPath = builder.Configuration["GATEWAY_CONFIG"];
        var rules = string.IsNullOrWhiteSpace(configPath) ? GuardrailRules.None : GuardrailsConfigLoader.Load(Path.GetFullPath(configPath));
        if (builder.Configuration.GetConnectionString("redis") is not null)
        {
            builder.AddRedisClient("redis");
        }

        builder.AddLiveConfig(rules, GuardrailsConfigLoader.Parse);
        return builder;
    }
}
