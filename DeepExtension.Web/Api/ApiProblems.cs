using DeepExtension.Core.Data;
using Microsoft.AspNetCore.Diagnostics;
using Microsoft.EntityFrameworkCore;

namespace DeepExtension.Web.Api;

/// <summary>What the API answers when a request fails with an exception: problem details with what happened.</summary>
internal static class ApiProblems
{
    public static Task WriteExceptionAsync(HttpContext context)
    {
        var exception = context.Features.Get<IExceptionHandlerFeature>()?.Error;
        var (status, title, detail) = exception switch
        {
            BadHttpRequestException bad => (bad.StatusCode, "The request is not valid.", bad.Message),
            DbUpdateException or System.Data.Common.DbException =>
                (StatusCodes.Status503ServiceUnavailable, "The database refused the change.", DatabaseErrors.Refused(exception)),
            _ => (StatusCodes.Status500InternalServerError, "The request failed.", "The console could not complete the request; the server log has the details."),
        };
        return Results.Problem(detail, statusCode: status, title: title).ExecuteAsync(context);
    }
}
