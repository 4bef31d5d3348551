// Package filterexpr parses AWS X-Ray filter expressions, the language of
// GetTraceSummaries' FilterExpression, of groups and of the service graph
// and time series selectors:
//
//	service("api.example.com") { fault OR responsetime > 2.5 } AND annotation.account = "12345"
//
// Parse returns an Expr tree, or an *Error with the line and column of the
// problem. An Expr prints back (String) in a canonical form that parses to
// an equal tree. The package knows nothing of traces or storage: an
// evaluator switches over the node types (*And, *Or, *Not, *Compare,
// *Service, *Edge, *RootCause, *RootCauseJSON, *Group) and may use Walk to
// pull index hints out of a tree.
//
// # Grammar
//
// AWS documents keywords and examples, not a grammar. This is the grammar
// implemented; it accepts every example of the AWS developer guide.
//
//	expression   = or_expr .
//	or_expr      = and_expr { ( "OR" | "||" ) and_expr } .
//	and_expr     = unary { [ "AND" | "&&" ] unary } .      (* juxtaposition means AND *)
//	unary        = ( "!" | "NOT" ) unary
//	             | "(" or_expr ")"
//	             | predicate .
//	predicate    = bool_kw [ ( "=" | "!=" ) bool ]          (* alone: the keyword is true *)
//	             | number_kw number_op number
//	             | string_kw [ string_op text ]             (* alone: the field is set *)
//	             | annotation [ operator value ]            (* alone: the annotation is set *)
//	             | "service" "(" [ service_ref ] ")" [ filter ]
//	             | "id" id_args [ filter ]                  (* short for service(id(…)) *)
//	             | "edge" "(" service_ref "," service_ref ")" [ filter ]
//	             | rootcause_kw filter
//	             | "rootcause.json" "=" json
//	             | ( "group.name" | "group.arn" ) "=" text .
//	filter       = "{" or_expr "}" .
//	service_ref  = string | "id" id_args .
//	id_args      = "(" id_arg { "," id_arg } ")" .          (* each name at most once *)
//	id_arg       = ( "name" | "type" | "account.id" ) ":" string .
//	annotation   = "annotation." word_chars                 (* the key may contain dots *)
//	             | "annotation[" ( string | raw_key ) "]" . (* no space before "[" *)
//
//	bool_kw      = "ok" | "error" | "fault" | "throttle" | "partial" | "inferred"
//	             | "first" | "last" | "remote" | "root" .
//	number_kw    = "responsetime" | "duration" | "http.status" | "index" | "coverage" .
//	string_kw    = "http.url" | "http.method" | "http.useragent" | "http.clientip" | "user"
//	             | "name" | "type" | "message" | "availabilityzone" | "instance.id" | "resource.arn" .
//	rootcause_kw = "rootcause.fault.service" | "rootcause.fault.entity" | "rootcause.fault.exception"
//	             | "rootcause.error.service" | "rootcause.error.entity" | "rootcause.error.exception"
//	             | "rootcause.responsetime.service" | "rootcause.responsetime.entity" .
//
//	operator     = number_op | "CONTAINS" | "BEGINSWITH" | "ENDSWITH" .
//	number_op    = "=" | "!=" | "<" | "<=" | ">" | ">=" .
//	string_op    = "=" | "!=" | "CONTAINS" | "BEGINSWITH" | "ENDSWITH" .
//	value        = text | number | bool .
//	text         = string | word .                          (* a bare word: name = traces *)
//	bool         = "true" | "false" .
//
// An annotation's value must suit its operator: <, <=, > and >= take a
// number, CONTAINS, BEGINSWITH and ENDSWITH a string, = and != anything.
// A bare word is any word but AND, OR, NOT, CONTAINS, BEGINSWITH, ENDSWITH,
// true and false; it is a string value only, never a service name.
//
// Lexical rules: keywords, operator words (AND, CONTAINS…), true and false
// are case-insensitive; annotation keys and strings are not. Blanks, tabs
// and newlines separate tokens.
//
//	word   = ( letter | "_" ) { letter | digit | "_" | "." } .
//	number = [ "-" ] digit { digit } [ "." digit { digit } ] .  (* no exponent, no "+", no ".5" *)
//	string = `"` { character | escape } `"` .    (* one line; escape as in JSON: \" \\ \/ \b \f \n \r \t \uXXXX *)
//	json   = "#[" JSON objects, separated by "," "]" .  (* a non-empty JSON array of objects *)
//
// # Where keywords may be used
//
//	trace (top level)       ok error fault throttle partial inferred responsetime duration
//	                        http.* user availabilityzone instance.id resource.arn annotation
//	                        service edge id group.name group.arn rootcause.*
//	service(…) { } and      ok error fault throttle partial inferred root responsetime duration
//	edge(…) { }             http.* user availabilityzone instance.id resource.arn
//	rootcause.*.* { }       name type message index first last inferred remote coverage
//
// # Choices where X-Ray's documentation is silent
//
//   - Precedence, lowest first: OR, AND, then "!" and NOT, then comparisons;
//     so "a OR b AND c" is "a OR (b AND c)" and "!http.status = 200" is
//     "!(http.status = 200)". "&&", "||" and NOT are accepted for AND, OR
//     and "!".
//   - A number keyword alone is an error (it always has a value); a string
//     keyword or an annotation alone means "is set" (AWS's
//     "http.url AND responseTime > 2"), a boolean keyword alone "is true".
//   - Keywords outside the contexts above are rejected with a message
//     rather than silently never matching; so are root cause filters
//     without "{ }", empty filters "{ }", empty service names and id(…)
//     arguments, group.name with another operator than "=" (write
//     "!group.name = …"), "==", single-quoted strings, and numbers with
//     units ("3s": times are in seconds).
//   - The guide's example that lacks its closing "}" is rejected.
//   - annotation[KEY] (raw or quoted KEY) reaches keys that annotation.KEY
//     cannot spell. X-Ray itself only accepts keys of letters, digits and
//     underscores.
//   - Nesting of "(", "!" and "{ }" is limited to 100 levels.
//   - An empty expression is an error; callers treat "" as "no filter".
package filterexpr
