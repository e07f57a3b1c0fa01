-- The read models live in their own database (READ_DATABASE_URL); the image creates only one.
CREATE DATABASE orders_read OWNER orders;
