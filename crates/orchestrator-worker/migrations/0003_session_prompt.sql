-- Find and name (issue 14): the start of a session's first prompt, set when the session is
-- created, so the dashboard can search the list by prompt as well as by title. NULL for the
-- sessions created before this column. The title a user sets with PATCH /api/sessions/:id is
-- the `title` column, which only that route and the create route write.
ALTER TABLE sessions ADD COLUMN prompt TEXT;
