using Gateway.Aspire.Router.Configuration;

namespace Gateway.Aspire.Router.Tests.Configuration;

public sealed class GatewayConfigLoaderTests
{
    private const string Valid = """
        type: provider-account
        name: mock
        provider: openai-compatible
        base_url: http://127.0.0.1:9100/v1
        api_key: ${MOCK_API_KEY}
        headers: { x-extra: "1" }
        models:
          - name: gpt-4o-mini
            provider_model: gpt-4o-mini-2024
            types: [chat]
            price: { input_per_mtok: 0.15, output_per_mtok: 0.60, cached_input_per_mtok: 0.075 }
            context_window: 128000
            timeout: 30s
          - name: small
        ---
        type: provider-account
        name: local
        provider: openai-compatible
        base_url: http://localhost:11434/v1/
        models:
          - name: llama
        """;

    private static readonly Func<string, string?> s_env = name => name == "MOCK_API_KEY" ? "secret" : null;

    private static GatewayConfigException Invalid(string yaml, Func<string, string?>? env = null) =>
        Assert.Throws<GatewayConfigException>(() => GatewayConfigLoader.Parse(yaml, "/etc/gw/gateway.yaml", env ?? s_env));

    [Fact]
    public void Valid_file_loads_with_defaults()
    {
        var config = GatewayConfigLoader.Parse(Valid, "gateway.yaml", s_env);

        Assert.Equal(["mock", "local"], config.ProviderAccounts.Select(a => a.Name));
        var mock = config.ProviderAccounts[0];
        Assert.Equal("MOCK_API_KEY", mock.ApiKeyVariable);
        Assert.Equal("1", mock.Headers["x-extra"]);
        var model = mock.Models[0];
        Assert.Equal("gpt-4o-mini-2024", model.ProviderModelName);
        Assert.Equal(0.15m, model.Price.InputPerMtok);
        Assert.Equal(0.60m, model.Price.OutputPerMtok);
        Assert.Equal(0.075m, model.Price.CachedInputPerMtok);
        Assert.Equal(128000, model.ContextWindow);
        Assert.Equal(TimeSpan.FromSeconds(30), model.Timeout);
        var small = mock.Models[1];
        Assert.Equal("small", small.ProviderModelName);
        Assert.Equal(["chat"], small.Types);
        Assert.Equal(0m, small.Price.InputPerMtok);
        Assert.Null(config.ProviderAccounts[1].ApiKeyVariable);
    }

    [Theory]
    [InlineData("", false)]
    [InlineData("---\ntype: gateway-guardrails-config\nname: g\nrules: []\n", false)]
    [InlineData("---\ntype: gateway-guardrails-config\nname: g\nrules:\n  - id: pii\n    input: [{ check: pii, action: mask }]\n", true)]
    public void Guardrails_rules_are_noticed_so_the_router_calls_guardrails_only_when_some_exist(string guardrails, bool expected)
    {
        var config = GatewayConfigLoader.Parse(Valid + "\n" + guardrails, "gateway.yaml", s_env);

        Assert.Equal(expected, config.HasGuardrailsRules);
    }

    [Fact]
    public void Guardrails_rules_scope_and_on_error_are_read_for_when_the_service_is_down()
    {
        const string Rules = """
            ---
            type: gateway-guardrails-config
            name: g
            rules:
              - id: mask
                when: { subjects: ["team:web"], models: ["openai/*"], metadata: { env: prod } }
                input: [{ check: pii, action: mask }]
              - id: flags
                output: [{ check: moderation, action: flag }]
              - id: open
                input: [{ check: deny_list, action: block, keywords: [x] }]
                on_error: fail_open
            """;
        var rules = GatewayConfigLoader.Parse(Valid + "\n" + Rules, "gateway.yaml", s_env).GuardrailRules;

        Assert.Equal(["mask", "flags", "open"], rules.Select(r => r.Id));
        // Defaults: a rule that masks or blocks fails closed; one that only flags fails open.
        Assert.Equal([false, true, true], rules.Select(r => r.FailOpen));
        Assert.Equal([true, false, true], rules.Select(r => r.HasInput));
        Assert.Equal([false, true, false], rules.Select(r => r.HasOutput));
        var prod = new Dictionary<string, string> { ["env"] = "prod" };
        Assert.True(rules[0].Matches(["user:ada", "team:web"], "openai/gpt-4o", prod));
        Assert.False(rules[0].Matches(["team:web"], "anthropic/sonnet", prod));
        Assert.False(rules[0].Matches(["team:web"], "openai/gpt-4o", new Dictionary<string, string>()));
    }

    [Fact]
    public void Catalog_resolves_account_slash_model_with_url_key_and_prices()
    {
        var catalog = new ModelCatalog(GatewayConfigLoader.Parse(Valid, "gateway.yaml", s_env), s_env, DateTimeOffset.UnixEpoch);

        Assert.True(catalog.TryResolve("mock/gpt-4o-mini", out var model));
        Assert.Equal("http://127.0.0.1:9100/v1/chat/completions", model.ChatCompletionsUri.ToString());
        Assert.Contains(KeyValuePair.Create("Authorization", "Bearer secret"), model.Headers);
        Assert.Equal("\"gpt-4o-mini-2024\"", System.Text.Encoding.UTF8.GetString(model.ProviderModelJson));
        Assert.Equal("0.15", model.Price.InputPerMtok);
        Assert.Equal("0.075", model.Price.CachedInputPerMtok);
        Assert.True(catalog.TryResolve("local/llama", out var local));
        Assert.Equal("http://localhost:11434/v1/chat/completions", local.ChatCompletionsUri.ToString());
        Assert.DoesNotContain(local.Headers, h => h.Key == "Authorization");
        Assert.Equal("0", local.Price.CachedInputPerMtok);
        Assert.False(catalog.TryResolve("gpt-4o-mini", out _));
        Assert.False(catalog.TryResolve("mock/unknown", out _));
    }

    [Fact]
    public void Unknown_field_is_named_with_file_document_and_account()
    {
        var e = Invalid(Valid.Replace("models:\n  - name: llama", "modles: []\nmodels:\n  - name: llama", StringComparison.Ordinal));

        Assert.Contains("gateway.yaml, document 2", e.Message, StringComparison.Ordinal);
        Assert.Contains("'local'", e.Message, StringComparison.Ordinal);
        Assert.Contains("unknown field 'modles'", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Unknown_field_in_a_model_is_named()
    {
        var e = Invalid(Valid.Replace("context_window: 128000", "context_windw: 128000", StringComparison.Ordinal));

        Assert.Contains("document 1", e.Message, StringComparison.Ordinal);
        Assert.Contains("model 'gpt-4o-mini'", e.Message, StringComparison.Ordinal);
        Assert.Contains("unknown field 'context_windw'", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Unknown_type_is_rejected()
    {
        var e = Invalid(Valid + "\n---\ntype: gateway-teleport-config\nname: x\n");

        Assert.Contains("document 3", e.Message, StringComparison.Ordinal);
        Assert.Contains("unknown type 'gateway-teleport-config'", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Rate_limiting_documents_belong_to_policy_and_are_let_through()
    {
        var config = GatewayConfigLoader.Parse(
            Valid + "\n---\ntype: gateway-rate-limiting-config\nname: limits\nrules: [{ id: r, limit_to: 5, unit: requests_per_minute }]\n",
            "/etc/gw/gateway.yaml", s_env);

        Assert.NotEmpty(config.ProviderAccounts);
    }

    [Fact]
    public void Literal_api_key_is_rejected_without_echoing_it()
    {
        var e = Invalid(Valid.Replace("${MOCK_API_KEY}", "sk-live-123456", StringComparison.Ordinal));

        Assert.Contains("api_key", e.Message, StringComparison.Ordinal);
        Assert.Contains("environment variable reference", e.Message, StringComparison.Ordinal);
        Assert.DoesNotContain("sk-live-123456", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Unset_environment_variable_names_the_variable_and_account()
    {
        var e = Invalid(Valid, _ => null);

        Assert.Contains("MOCK_API_KEY", e.Message, StringComparison.Ordinal);
        Assert.Contains("provider-account 'mock'", e.Message, StringComparison.Ordinal);
        Assert.Contains("not set", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Duplicate_account_and_model_names_are_rejected()
    {
        var twice = Invalid(Valid.Replace("name: local", "name: mock", StringComparison.Ordinal));
        Assert.Contains("'mock'", twice.Message, StringComparison.Ordinal);
        Assert.Contains("unique", twice.Message, StringComparison.Ordinal);

        var model = Invalid(Valid.Replace("- name: small", "- name: gpt-4o-mini", StringComparison.Ordinal));
        Assert.Contains("model 'gpt-4o-mini' is declared twice", model.Message, StringComparison.Ordinal);
    }

    private const string EveryProvider = """
        type: provider-account
        name: openai
        provider: openai
        api_key: ${MOCK_API_KEY}
        models: [{ name: gpt-4o, types: [chat, completion] }, { name: small-embed, provider_model: text-embedding-3-small, types: [embedding] }]
        ---
        type: provider-account
        name: azure
        provider: azure-openai
        base_url: https://contoso.openai.azure.com/
        api_key: ${MOCK_API_KEY}
        models: [{ name: gpt-4o, provider_model: my-gpt4o-deployment }]
        ---
        type: provider-account
        name: claude
        provider: anthropic
        api_key: ${MOCK_API_KEY}
        headers: { anthropic-version: "2023-06-01", anthropic-beta: "prompt-caching-2024-07-31" }
        models:
          - name: sonnet
            provider_model: claude-sonnet-4-5
            default_max_tokens: 2048
            max_tokens: 64000
            price: { input_per_mtok: 3, output_per_mtok: 15, cached_input_per_mtok: 0.30, cache_write_per_mtok: 3.75 }
        ---
        type: provider-account
        name: google
        provider: gemini
        api_key: ${MOCK_API_KEY}
        models: [{ name: flash, provider_model: gemini-2.5-flash, price: { input_per_mtok: 0.30, output_per_mtok: 2.50, reasoning_per_mtok: 2.50 } }]
        """;

    [Fact]
    public void Every_provider_gets_its_official_url_and_key_header()
    {
        var catalog = new ModelCatalog(GatewayConfigLoader.Parse(EveryProvider, "gateway.yaml", s_env), s_env, DateTimeOffset.UnixEpoch);

        Assert.True(catalog.TryResolve("openai/gpt-4o", out var openai));
        Assert.Equal("https://api.openai.com/v1/chat/completions", openai.ChatUri(stream: true).ToString());
        Assert.Equal("https://api.openai.com/v1/embeddings", openai.ApiUri("embeddings").ToString());
        Assert.Contains(KeyValuePair.Create("Authorization", "Bearer secret"), openai.Headers);

        Assert.True(catalog.TryResolve("azure/gpt-4o", out var azure));
        Assert.Equal("https://contoso.openai.azure.com/openai/deployments/my-gpt4o-deployment/chat/completions?api-version=2024-10-21", azure.ChatCompletionsUri.ToString());
        Assert.Equal("https://contoso.openai.azure.com/openai/deployments/my-gpt4o-deployment/embeddings?api-version=2024-10-21", azure.ApiUri("embeddings").ToString());
        Assert.Equal([KeyValuePair.Create("api-key", "secret")], azure.Headers);

        Assert.True(catalog.TryResolve("claude/sonnet", out var claude));
        Assert.Equal(Gateway.Aspire.Router.Providers.WireFormat.Anthropic, claude.Format);
        Assert.Equal("https://api.anthropic.com/v1/messages", claude.ChatUri(stream: true).ToString());
        Assert.Contains(KeyValuePair.Create("x-api-key", "secret"), claude.Headers);
        Assert.Single(claude.Headers, h => h.Key == "anthropic-version");
        Assert.Contains(KeyValuePair.Create("anthropic-beta", "prompt-caching-2024-07-31"), claude.Headers);
        Assert.Equal(2048, claude.Model.DefaultMaxTokens);
        Assert.Equal("3.75", claude.Price.CacheWritePerMtok);
        Assert.Equal("15", claude.Price.ReasoningPerMtok);

        Assert.True(catalog.TryResolve("google/flash", out var flash));
        Assert.Equal("https://generativelanguage.googleapis.com/v1beta/models/gemini-2.5-flash:generateContent", flash.ChatUri(stream: false).ToString());
        Assert.Equal("https://generativelanguage.googleapis.com/v1beta/models/gemini-2.5-flash:streamGenerateContent?alt=sse", flash.ChatUri(stream: true).ToString());
        Assert.Equal([KeyValuePair.Create("x-goog-api-key", "secret")], flash.Headers);
        Assert.Equal("0.30", flash.Price.CacheWritePerMtok);
    }

    [Theory]
    [InlineData("provider: azure-openai\nbase_url: https://contoso.openai.azure.com/", "provider: azure-openai", "'base_url' is required for azure-openai")]
    [InlineData("provider: openai\n", "provider: openai\napi_version: 2024-10-21\n", "'api_version' applies only to provider azure-openai")]
    [InlineData("provider: gemini", "provider: bogus", "unknown provider 'bogus'. Supported: openai, azure-openai, anthropic, gemini, openai-compatible")]
    [InlineData("default_max_tokens: 2048", "default_max_tokens: 99999", "'default_max_tokens' (99999) exceeds 'max_tokens' (64000)")]
    [InlineData("cache_write_per_mtok: 3.75", "cache_write_per_mtok: -1", "cache_write_per_mtok")]
    public void Provider_settings_are_checked(string from, string to, string expected)
    {
        var e = Invalid(EveryProvider.Replace(from, to, StringComparison.Ordinal));

        Assert.Contains(expected, e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Openai_compatible_needs_a_base_url()
    {
        var e = Invalid(Valid.Replace("base_url: http://localhost:11434/v1/\n", "", StringComparison.Ordinal));

        Assert.Contains("'base_url' is required for openai-compatible", e.Message, StringComparison.Ordinal);
        Assert.Contains("'local'", e.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("base_url: http://127.0.0.1:9100/v1", "base_url: not a url", "base_url")]
    [InlineData("input_per_mtok: 0.15", "input_per_mtok: cheap", "input_per_mtok")]
    [InlineData("timeout: 30s", "timeout: soon", "timeout")]
    [InlineData("types: [chat]", "types: [telepathy]", "telepathy")]
    public void Bad_values_are_named(string from, string to, string expected)
    {
        var e = Invalid(Valid.Replace(from, to, StringComparison.Ordinal));

        Assert.Contains(expected, e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Model_cache_is_off_by_default_and_defaults_its_ttl_to_an_hour()
    {
        var yaml = Valid.Replace("timeout: 30s", "timeout: 30s\n    cache: { ttl_seconds: 120 }", StringComparison.Ordinal)
            .Replace("  - name: llama", "  - name: llama\n    cache: {}", StringComparison.Ordinal);

        var config = GatewayConfigLoader.Parse(yaml, "gateway.yaml", s_env);

        Assert.Equal(TimeSpan.FromSeconds(120), config.ProviderAccounts[0].Models[0].Cache?.Ttl);
        Assert.Null(config.ProviderAccounts[0].Models[1].Cache);
        Assert.Equal(TimeSpan.FromSeconds(3600), config.ProviderAccounts[1].Models[0].Cache?.Ttl);
    }

    [Theory]
    [InlineData("cache: { ttl_seconds: 0 }", "'ttl_seconds' must be a positive integer (got '0')")]
    [InlineData("cache: { ttl: 60 }", "ttl")]
    [InlineData("cache: true", "'cache' must be a mapping")]
    public void Bad_model_cache_is_named(string cache, string expected)
    {
        var e = Invalid(Valid.Replace("timeout: 30s", "timeout: 30s\n    " + cache, StringComparison.Ordinal));

        Assert.Contains(expected, e.Message, StringComparison.Ordinal);
        Assert.Contains("model 'gpt-4o-mini'", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Find_path_walks_up_to_the_repository_root_and_honours_gateway_config()
    {
        var root = Testing.TestDirectories.Create("config");
        try
        {
            File.WriteAllText(Path.Combine(root, "Gateway.Aspire.sln"), "");
            File.WriteAllText(Path.Combine(root, "gateway.yaml"), Valid);
            var nested = Directory.CreateDirectory(Path.Combine(root, "services", "router")).FullName;

            Assert.Equal(Path.Combine(root, "gateway.yaml"), GatewayConfigLoader.FindPath(null, nested));
            Assert.Throws<GatewayConfigException>(() => GatewayConfigLoader.FindPath("missing.yaml", nested));
            var config = GatewayConfigLoader.Load(GatewayConfigLoader.FindPath("../../gateway.yaml", nested), s_env);
            Assert.Equal(2, config.ProviderAccounts.Count);
        }
        finally
        {
            Testing.TestDirectories.Delete(root);
        }
    }

    [Fact]
    public void Repository_default_gateway_yaml_is_valid()
    {
        var path = Path.Combine(Testing.RepositoryRoot.Find(), "gateway.yaml");
        var catalog = new ModelCatalog(GatewayConfigLoader.Load(path, s_env), s_env, DateTimeOffset.UtcNow);

        Assert.True(catalog.TryResolve("mock/gpt-4o-mini", out var model));
        Assert.Equal("http://127.0.0.1:9100/v1/chat/completions", model.ChatCompletionsUri.ToString());
    }
}
