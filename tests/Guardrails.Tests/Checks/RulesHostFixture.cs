using Gateway.Aspire.Guardrails.Grpc;
using Google.Protobuf;

namespace Gateway.Aspire.Guardrails.Tests.Checks;

/// <summary>One guardrails service with a rules file that gives each scenario its own caller (subject) or metadata.</summary>
public sealed class RulesHostFixture : IAsyncLifetime
{
    public const string Config = """
        type: provider-account
        name: mock
        provider: openai-compatible
        base_url: http://127.0.0.1:9100/v1
        models: [{ name: gpt-4o-mini }]
        ---
        type: gateway-guardrails-config
        name: test
        rules:
          - id: pii
            when: { subjects: ["virtualaccount:pii"] }
            input:
              - { check: pii, action: mask, types: [email] }
            output:
              - { check: pii, action: mask, restore: true }
          - id: finance
            when: { subjects: ["virtualaccount:finance"], models: ["mock/*"] }
            input:
              - { check: deny_list, action: block, name: no_financial_advice }
              - { check: prompt_injection, action: block }
            output:
              - { check: deny_list, action: block, name: secrets, keywords: [Project Falcon], allow: ["(?i)falcon heavy"] }
              - { check: moderation, action: flag, categories: [harassment] }
          - id: watch
            when: { metadata: { audit: "on" } }
            input:
              - { check: prompt_injection, action: flag }
              - { check: deny_list, action: flag, name: codewords, keywords: [bluebird] }
        """;

    internal GuardrailsTestHost Host { get; private set; } = null!;

    internal Grpc.Guardrails.GuardrailsClient Guardrails => Host.Guardrails;

    public async ValueTask InitializeAsync() => Host = await GuardrailsTestHost.StartAsync(Config);

    public async ValueTask DisposeAsync() => await Host.DisposeAsync();

    /// <summary>A CheckInput request from <paramref name="subject"/> for <paramref name="model"/>.</summary>
    internal static CheckRequest Input(string subject, string body, string api = "/v1/chat/completions", string model = "mock/gpt-4o-mini")
    {
        var request = new CheckRequest { RequestId = "req", Model = model, Api = api, Body = ByteString.CopyFromUtf8(body) };
        request.Subjects.Add(subject);
        return request;
    }

    /// <summary>A chat request body with one user message.</summary>
    internal static string Chat(string text) =>
        $$"""{"model":"mock/gpt-4o-mini","messages":[{"role":"user","content":{{System.Text.Json.JsonSerializer.Serialize(text)}}}],"stream":false}""";
}
