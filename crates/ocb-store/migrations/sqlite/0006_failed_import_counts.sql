-- A refused import writes nothing, so its record counts nothing as written (issue 15): earlier
-- versions stored the counts it would have written. Rows read and rejected records stay; the
-- valid rows that were not imported are read back as `refused` (rows_read − rejected).
UPDATE imports
   SET inserted = 0, updated = 0, unchanged = 0, removed = 0, flagged_rows = 0,
       flagged_cost = '0', total_cost = '0'
 WHERE status = 'failed';

UPDATE import_periods
   SET inserted = 0, updated = 0, unchanged = 0, removed = 0, flagged_rows = 0,
       flagged_cost = '0', total_cost = '0'
 WHERE import_id IN (SELECT id FROM imports WHERE status = 'failed');
