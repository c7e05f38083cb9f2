namespace Gateway.Aspire.Hosting.ApplicationModel;

/// <summary>Something the AppHost runs or points at: a server, a database or a project.</summary>
public abstract class Resource(string name)
{
    /// <summary>Lowercase name, identical in the AppHost, configuration keys and client addresses.</summary>
    public string Name { get; } = name;

    /// <summary>Resources that must be healthy before this one starts.</summary>
    public List<Resource> WaitsFor { get; } = [];
}

/// <summary>A resource that hands its users a connection string (<c>ConnectionStrings__{name}</c>).</summary>
public interface IResourceWithConnectionString
{
    /// <summary>Resource name, also the connection string's name.</summary>
    string Name { get; }
}

/// <summary>A Redis-compatible server: an existing one (<c>ConnectionStrings__{name}</c>) or one started locally.</summary>
public sealed class RedisResource(string name) : Resource(name), IResourceWithConnectionString;

/// <summary>A PostgreSQL server: started locally unless every database on it has a configured connection string.</summary>
public sealed class PostgresServerResource(string name) : Resource(name)
{
    /// <summary>Databases created on this server.</summary>
    public List<PostgresDatabaseResource> Databases { get; } = [];
}

/// <summary>A database on a <see cref="PostgresServerResource"/>, created if missing.</summary>
public sealed class PostgresDatabaseResource(string name, string databaseName, PostgresServerResource server)
    : Resource(name), IResourceWithConnectionString
{
    /// <summary>The database's name on the server.</summary>
    public string DatabaseName { get; } = databaseName;

    /// <summary>The server it lives on.</summary>
    public PostgresServerResource Server { get; } = server;
}

/// <summary>A .NET project run from its built output with <c>dotnet &lt;TargetPath&gt;</c>.</summary>
public sealed class ProjectResource(string name, IProjectMetadata project) : Resource(name)
{
    /// <summary>Where the project and its build output are.</summary>
    public IProjectMetadata Project { get; } = project;

    /// <summary>Endpoints the project listens on, in declaration order; <c>http</c> first.</summary>
    public List<EndpointAnnotation> Endpoints { get; } = [];

    /// <summary>Environment variables; values are resolved when the project starts (after its dependencies).</summary>
    public Dictionary<string, EnvironmentValue> Environment { get; } = [];

    /// <summary>Resources whose connection details this project receives.</summary>
    public List<Resource> References { get; } = [];

    /// <summary>Whether the project is meant to be reached from outside (ingress in deployments).</summary>
    public bool IsExternal { get; set; }
}

/// <summary>A named endpoint of a project.</summary>
public sealed class EndpointAnnotation(string name)
{
    /// <summary><c>http</c> (HTTP/1.1 and probes) or <c>grpc</c> (cleartext HTTP/2).</summary>
    public string Name { get; } = name;

    /// <summary>Fixed port, or null for a free loopback port chosen at start.</summary>
    public int? Port { get; set; }

    /// <summary>Host to bind; <c>localhost</c> for the public router, <c>127.0.0.1</c> otherwise.</summary>
    public string Host { get; set; } = "127.0.0.1";

    /// <summary>Kestrel protocols of the endpoint (<c>Http1</c> or <c>Http2</c>).</summary>
    public string Protocols { get; set; } = "Http1";

    /// <summary>The port in use once allocated.</summary>
    public int AllocatedPort { get; internal set; }

    /// <summary>The URL clients use, once allocated.</summary>
    public string Url => $"http://{Host}:{AllocatedPort}";
}

/// <summary>Where a project is and where its build output is; generated per ProjectReference of the AppHost.</summary>
public interface IProjectMetadata
{
    /// <summary>Full path of the .csproj.</summary>
    string ProjectPath { get; }

    /// <summary>Full path of the built assembly (same configuration as the AppHost).</summary>
    string TargetPath { get; }
}

/// <summary>An environment value: how to compute it at run time and how the manifest writes it.</summary>
/// <param name="Resolve">Computes the value when the project starts.</param>
/// <param name="ManifestExpression">The value in the manifest (a literal, or a <c>{name.value}</c> reference for parameters).</param>
public sealed record EnvironmentValue(Func<string> Resolve, string ManifestExpression);

/// <summary>
/// A value supplied at deployment (Aspire's parameter): a secret such as the admin key is never
/// written into the manifest, only a reference to it.
/// </summary>
public sealed class ParameterResource(string name, Func<string> value, bool secret) : Resource(name)
{
    private readonly Lazy<string> _value = new(value);

    /// <summary>The value, computed once on first use.</summary>
    public string Value => _value.Value;

    /// <summary>Whether the value is a secret.</summary>
    public bool Secret { get; } = secret;
}
