using Grpc.Core;
using Npgsql;

namespace Gateway.Aspire.Policy.Tokens;

/// <summary>
/// The errors of the admin services, as <see cref="RpcException"/>s whose status maps to HTTP
/// (InvalidArgument 400, NotFound 404, AlreadyExists and FailedPrecondition 409, Unavailable 503)
/// and whose <see cref="ParamTrailer"/> trailer names the offending request field.
/// </summary>
public static class AdminErrors
{
    /// <summary>Trailer naming the request field an error is about.</summary>
    public const string ParamTrailer = "param";

    /// <summary>A bad request field.</summary>
    public static RpcException Invalid(string? param, string message) => Error(StatusCode.InvalidArgument, message, param);

    /// <summary>No such id or name.</summary>
    public static RpcException NotFound(string message, string? param = null) => Error(StatusCode.NotFound, message, param);

    /// <summary>A duplicate name.</summary>
    public static RpcException Exists(string message, string param = "name") => Error(StatusCode.AlreadyExists, message, param);

    /// <summary>The change conflicts with the current state (e.g. a team that still owns accounts).</summary>
    public static RpcException Conflict(string message) => Error(StatusCode.FailedPrecondition, message, null);

    /// <summary>
    /// Runs a store operation, turning an unreachable PostgreSQL into Unavailable and a unique
    /// violation into AlreadyExists with <paramref name="duplicate"/> as its message.
    /// </summary>
    public static async Task<T> StoreAsync<T>(Func<Task<T>> operation, ILogger logger, string? duplicate = null)
    {
        try
        {
            return await operation();
        }
        catch (PostgresException e) when (e.SqlState == PostgresErrorCodes.UniqueViolation && duplicate is not null)
        {
            throw Exists(duplicate);
        }
        catch (NpgsqlException e) when (e is not PostgresException || e.IsTransient)
        {
            PolicyLog.PostgresUnavailable(logger, e.Message);
            throw new RpcException(new Status(StatusCode.Unavailable, "The token store is unavailable; retry shortly."));
        }
    }

    private static RpcException Error(StatusCode code, string message, string? param) =>
        param is null ? new RpcException(new Status(code, message)) : new RpcException(new Status(code, message), new Metadata { { ParamTrailer, param } });
}
