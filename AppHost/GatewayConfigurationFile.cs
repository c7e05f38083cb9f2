using Microsoft.Extensions.Configuration;
using YamlDotNet.Core;
using YamlDotNet.RepresentationModel;

namespace Gateway.Aspire.AppHost;

/// <summary>
/// The gateway.yaml the router will load. The AppHost reads only what it needs to decide which
/// resources to start (whether the mock upstream is used); validating the file is the router's job.
/// </summary>
internal sealed class GatewayConfigurationFile(string path)
{
    /// <summary>Absolute path of the file.</summary>
    public string Path { get; } = path;

    /// <summary><c>--config</c>, else <c>GATEWAY_CONFIG</c>, else <c>gateway.yaml</c> in the repository root.</summary>
    public static GatewayConfigurationFile Locate(IConfiguration configuration, string repositoryRoot)
    {
        var configured = configuration["config"] ?? configuration["GATEWAY_CONFIG"];
        var path = System.IO.Path.GetFullPath(configured ?? System.IO.Path.Combine(repositoryRoot, "gateway.yaml"));
        if (!File.Exists(path))
        {
            throw new InvalidOperationException(
                $"The gateway configuration {path} does not exist. Point --config or GATEWAY_CONFIG at a gateway.yaml " +
                "(the repository root has a working default).");
        }

        return new GatewayConfigurationFile(path);
    }

    /// <summary>Whether a <c>provider-account</c>'s base_url points at the mock upstream's loopback port.</summary>
    public bool UsesMockUpstream(int mockPort)
    {
        var stream = new YamlStream();
        try
        {
            using var reader = File.OpenText(Path);
            stream.Load(reader);
        }
        catch (YamlException)
        {
            return false; // the router reports the error precisely when it loads the file
        }

        foreach (var document in stream.Documents)
        {
            if (document.RootNode is not YamlMappingNode mapping
                || Scalar(mapping, "type") != "provider-account"
                || !Uri.TryCreate(Scalar(mapping, "base_url"), UriKind.Absolute, out var baseUrl))
            {
                continue;
            }

            if (baseUrl.IsLoopback && baseUrl.Port == mockPort)
            {
                return true;
            }
        }

        return false;
    }

    private static string? Scalar(YamlMappingNode mapping, string key) =>
        mapping.Children.TryGetValue(new YamlScalarNode(key), out var node) && node is YamlScalarNode scalar ? scalar.Value : null;
}
